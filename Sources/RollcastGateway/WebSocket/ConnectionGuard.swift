import NIOCore
import NIOWebSocket

/// Ends WebSocket connections whose peer is gone or has stopped reading.
///
/// - Keep-alive: every `pingInterval` it sends a ping; a peer that has not answered within
///   `pongTimeout` is closed with 1001 ("ping timeout"), so vanished browsers free their
///   connection. The event loop's ``ClientSweep`` says when, for all its clients at once.
/// - Stalls: a socket that stays unwritable for `stallLimit` belongs to a client that has
///   stopped reading (a frozen tab, a dead network). It is closed with 1008 ("client too
///   slow") by its ``StallWatch``. Until then the gateway holds at most one snapshot in flight for it.
///
/// - Protocol: frames a client must not send (RFC 6455) close the connection at once:
///   unmasked frames and control frames with RSV bits (1002), and a message split into more
///   than ``maxFramesPerMessage`` frames (1009), so that millions of empty continuation frames
///   cannot pile up in the message being gathered.
///
/// It sits in the pipeline right after the frame decoder; an idle, healthy connection costs a
/// place in its loop's sweep, no timer of its own, and nothing per snapshot.
final class ConnectionGuard: ChannelInboundHandler, RemovableChannelHandler, SweptClient {
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
    private let sweeps: ClientSweeps
    private var sweep: ClientSweep?
    /// Its place in the sweep's list (kept by the sweep).
    var sweepIndex: Int?
    private var context: ChannelHandlerContext?
    private var stallWatch: StallWatch?
    private var pingPayload = ByteBuffer()
    /// Pings sent, and whether the last one still waits for its pong.
    private var pingsSent: UInt64 = 0
    private var awaitingPong = false
    /// Frames of the data message under way; 0 between messages.
    private var framesInMessage = 0

    /// - Parameters:
    ///   - sweeps: the ping sweeps of the event loops (one for the gateway's WebSockets).
    ///   - onClose: called on the event loop when the guard closes the connection.
    init(limits: Limits, sweeps: ClientSweeps, onClose: @escaping (Closure) -> Void) {
        self.limits = limits
        self.sweeps = sweeps
        self.onClose = onClose
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        let sweep = sweeps.sweep(on: context.eventLoop)
        sweep.add(self)
        self.sweep = sweep
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        stallWatch = StallWatch(limit: limits.stallLimit, eventLoop: context.eventLoop) { [self] in
            close(context: loopBound.value, .tooSlow)
        }
        if !context.channel.isWritable { stallWatch?.writabilityChanged(writable: false) }
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

    /// Sends a ping, unless one still waits for its pong (its deadline decides).
    /// - Returns: the ping's number, for ``checkAnswer(_:)`` at its deadline; `nil` if none was sent.
    func visit() -> UInt64? {
        guard let context, !awaitingPong else { return nil }
        pingsSent += 1
        awaitingPong = true
        pingPayload.clear()
        pingPayload.writeInteger(UInt64.random(in: .min ... .max))
        context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .ping, data: pingPayload)), promise: nil)
        return pingsSent
    }

    /// At ping `number`'s deadline: closes the connection if that ping is still unanswered.
    func checkAnswer(_ number: UInt64) {
        guard let context, awaitingPong, pingsSent == number else { return }
        close(context: context, .pingTimeout)
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

    /// Leaves the sweep and the stall watch: nothing is sent or checked after this.
    private func cancelTimers() {
        context = nil
        sweep?.remove(self)
        sweep = nil
        stallWatch?.cancel()
        // It holds this guard (its closure): letting it go ends the cycle.
        stallWatch = nil
    }
}
