import Logging
import NIOCore

/// Closes a connection whose socket has stayed unwritable for longer than a limit.
///
/// A client that stops reading (a frozen tab, a dead network) leaves its socket full;
/// the gateway then holds at most one snapshot in flight for it (the broadcaster keeps
/// only the newest pending one). This guard ends such a connection for good, so that a
/// stuck client does not hold a socket and its buffers forever. It sits first in the
/// pipeline, where writability changes arrive, and costs nothing while the client keeps up.
final class SlowClientGuard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    typealias OutboundOut = ByteBuffer

    private let limit: TimeAmount
    private let onClose: @Sendable () -> Void
    private var timer: Scheduled<Void>?

    /// - Parameters:
    ///   - limit: how long the socket may stay unwritable.
    ///   - onClose: called (on the event loop) when the guard closes the connection.
    init(limit: TimeAmount, onClose: @escaping @Sendable () -> Void) {
        self.limit = limit
        self.onClose = onClose
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            timer?.cancel()
            timer = nil
        } else if timer == nil {
            let loopBoundContext = NIOLoopBound(context, eventLoop: context.eventLoop)
            timer = context.eventLoop.assumeIsolated().scheduleTask(in: limit) { [self] in
                closeSlowClient(context: loopBoundContext.value)
            }
        }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    private func closeSlowClient(context: ChannelHandlerContext) {
        timer = nil
        onClose()
        // The close frame joins the queue behind what the client has not read; it arrives
        // only if the client wakes up before the socket is gone, but then it explains why.
        context.writeAndFlush(wrapOutboundOut(Self.closeFrame), promise: nil)
        context.close(promise: nil)
    }

    /// An unmasked WebSocket close frame: 1008 (policy violation), "client too slow".
    static let closeFrame: ByteBuffer = {
        let reason = Array("client too slow".utf8)
        var buffer = ByteBuffer()
        buffer.writeBytes([0x88, UInt8(2 + reason.count), 0x03, 0xF0])
        buffer.writeBytes(reason)
        return buffer
    }()
}
