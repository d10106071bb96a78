import NIOCore
import NIOWebSocket

/// Ends WebSocket connections whose peer is gone or has stopped reading.
///
/// - Keep-alive: every `pingInterval` it sends a ping; a peer that has not answered within
///   `pongTimeout` is closed with 1001 ("ping timeout"), so vanished browsers free their
///   connection.
/// - Stalls: a socket that stays unwritable for `stallLimit` belongs to a client that has
///   stopped reading (a frozen tab, a dead network). It is closed with 1008 ("client too
///   slow"). Until then the gateway holds at most one snapshot in flight for it.
///
/// It sits in the pipeline right after the frame decoder and works with event-loop timers,
/// so an idle, healthy connection costs one scheduled ping and nothing per snapshot.
final class ConnectionGuard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias InboundOut = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    enum Closure: Sendable {
        case pingTimeout
        case tooSlow
    }

    struct Limits: Sendable {
        var pingInterval: TimeAmount
        var pongTimeout: TimeAmount
        var stallLimit: TimeAmount
    }

    private let limits: Limits
    private let onClose: @Sendable (Closure) -> Void
    private var nextPing: Scheduled<Void>?
    private var pongDeadline: Scheduled<Void>?
    private var stallDeadline: Scheduled<Void>?
    private var pingPayload = ByteBuffer()

    /// - Parameter onClose: called on the event loop when the guard closes the connection.
    init(limits: Limits, onClose: @escaping @Sendable (Closure) -> Void) {
        self.limits = limits
        self.onClose = onClose
    }

    func handlerAdded(context: ChannelHandlerContext) {
        schedulePing(context: context)
        if !context.channel.isWritable { startStallClock(context: context) }
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
        if frame.opcode == .pong, frame.unmaskedData == pingPayload {
            pongDeadline?.cancel()
            pongDeadline = nil
        }
        context.fireChannelRead(data)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            stallDeadline?.cancel()
            stallDeadline = nil
        } else {
            startStallClock(context: context)
        }
        context.fireChannelWritabilityChanged()
    }

    private func startStallClock(context: ChannelHandlerContext) {
        guard stallDeadline == nil else { return }
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        stallDeadline = context.eventLoop.assumeIsolated().scheduleTask(in: limits.stallLimit) { [self] in
            close(context: loopBound.value, .tooSlow)
        }
    }

    private func ping(context: ChannelHandlerContext) {
        // One ping at a time: the deadline of the outstanding one decides.
        guard pongDeadline == nil else { return }
        pingPayload.clear()
        pingPayload.writeInteger(UInt64.random(in: .min ... .max))
        context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .ping, data: pingPayload)), promise: nil)
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        pongDeadline = context.eventLoop.assumeIsolated().scheduleTask(in: limits.pongTimeout) { [self] in
            close(context: loopBound.value, .pingTimeout)
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
        stallDeadline?.cancel()
        stallDeadline = nil
    }
}
