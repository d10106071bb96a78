import NIOCore
import NIOWebSocket

/// Ends WebSocket connections whose peer is gone or has stopped reading.
///
/// - Keep-alive: every `pingInterval` it sends a ping; a peer that has not answered within
///   `pongTimeout` is closed with 1001 ("ping timeout"), so vanished browsers free their
///   connection.
/// - Stalls: a socket that stays unwritable for `stallLimit` belongs to a client that has
///   stopped reading (a frozen tab, a dead network). It is closed with 1008 ("client too
///   slow") by its ``StallWatch``. Until then the gateway holds at most one snapshot in flight for it.
///
/// - Protocol: frames a client must not send (RFC 6455) close the connection at once:
///   unmasked frames and control frames with RSV bits (1002), and a message split into more
///   than ``maxFramesPerMessage`` frames (1009), so that millions of empty continuation frames
///   cannot pile up in the message being gathered.
///
/// It sits in the pipeline right after the frame decoder and works with event-loop timers,
/// so an idle, healthy connection costs one scheduled ping and nothing per snapshot.
final class ConnectionGuard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias InboundOut = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    enum Closure: Sendable, Equatable {
        case pingTimeout
        case tooSlow
        case protocolError(String)
        case tooManyFrames
    }

    /// Frames one message from a client may be split into; it has nothing to send that needs more.
    static let maxFramesPerMessage = 64

    struct Limits: Sendable {
        var pingInterval: TimeAmount
        var pongTimeout: TimeAmount
        var stallLimit: TimeAmount
    }

    private let limits: Limits
    private let onClose: (Closure) -> Void
    private var nextPing: Scheduled<Void>?
    private var pongDeadline: Scheduled<Void>?
    private var stallWatch: StallWatch?
    private var pingPayload = ByteBuffer()
    /// Pings sent, and whether the last one still waits for its pong. A pong does not cancel
    /// the deadline timer: NIO finds a task to cancel by a linear search of the event loop's
    /// timers (thousands with thousands of clients); the deadline finds the answer instead.
    private var pingsSent: UInt64 = 0
    private var awaitingPong = false
    /// Frames of the data message under way; 0 between messages.
    private var framesInMessage = 0

    /// - Parameter onClose: called on the event loop when the guard closes the connection.
    init(limits: Limits, onClose: @escaping (Closure) -> Void) {
        self.limits = limits
        self.onClose = onClose
    }

    func handlerAdded(context: ChannelHandlerContext) {
        schedulePing(context: context)
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        stallWatch = StallWatch(limit: limits.stallLimit, eventLoop: context.eventLoop) { [self] in
            close(context: loopBound.value, .tooSlow)
        }
        if !context.channel.isWritable { stallWatch?.writabilityChanged(writable: false) }
    }

    private func schedulePing(context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        nextPing = context.eventLoop.assumeIsolated().scheduleTask(in: limits.pingInterval) { [self] in
            ping(context: loopBound.value)
            schedulePing(context: loopBound.value)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimers()
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelTimers()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        guard frame.maskKey != nil else { return close(context: context, .protocolError("client frames must be masked")) }
        switch frame.opcode {
        case .ping, .pong, .connectionClose:
            if frame.rsv1 || frame.rsv2 || frame.rsv3 { return close(context: context, .protocolError("control frames carry no RSV bits")) }
        case .continuation:
            framesInMessage += 1
            if framesInMessage > Self.maxFramesPerMessage { return close(context: context, .tooManyFrames) }
            if frame.fin { framesInMessage = 0 }
        default:
            framesInMessage = frame.fin ? 0 : 1
        }
        if frame.opcode == .pong, awaitingPong, frame.unmaskedData == pingPayload {
            awaitingPong = false
        }
        context.fireChannelRead(data)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        stallWatch?.writabilityChanged(writable: context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    private func ping(context: ChannelHandlerContext) {
        // One ping at a time: the deadline of the outstanding one decides.
        guard !awaitingPong else { return }
        pingsSent += 1
        awaitingPong = true
        pingPayload.clear()
        pingPayload.writeInteger(UInt64.random(in: .min ... .max))
        context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .ping, data: pingPayload)), promise: nil)
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        let ping = pingsSent
        pongDeadline = context.eventLoop.assumeIsolated().scheduleTask(in: limits.pongTimeout) { [self] in
            if awaitingPong, pingsSent == ping { close(context: loopBound.value, .pingTimeout) }
        }
    }

    private func close(context: ChannelHandlerContext, _ reason: Closure) {
        cancelTimers()
        onClose(reason)
        var data = ByteBuffer()
        switch reason {
        case .pingTimeout:
            data.write(webSocketErrorCode: .goingAway)
            data.writeString("ping timeout")
        case .tooSlow:
            data.write(webSocketErrorCode: .policyViolation)
            data.writeString("client too slow")
        case .protocolError(let reason):
            data.write(webSocketErrorCode: .protocolError)
            data.writeString(reason)
        case .tooManyFrames:
            data.write(webSocketErrorCode: .messageTooLarge)
            data.writeString("a message in more than \(Self.maxFramesPerMessage) frames")
        }
        // A stalled client will not read this, but one that wakes up in time learns why.
        context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: data)), promise: nil)
        context.close(promise: nil)
    }

    private func cancelTimers() {
        nextPing?.cancel()
        nextPing = nil
        pongDeadline?.cancel()
        pongDeadline = nil
        stallWatch?.cancel()
        // It holds this guard (its closure): letting it go ends the cycle.
        stallWatch = nil
    }
}
