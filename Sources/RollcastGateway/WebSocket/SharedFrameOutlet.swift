import NIOCore

/// Where a client's snapshots enter its pipeline: below NIO's frame encoder, next to the socket.
///
/// Every ``SharedFrame`` is encoded once per snapshot for all clients, so it must not pass the
/// encoder again; the ``SnapshotWriter`` hands it here, and from here it goes to the socket as
/// the bytes it is. Frames the other handlers write (pongs, the close) still pass the encoder.
final class SharedFrameOutlet: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    /// Writes `frame` to the socket and flushes.
    /// - Important: call on the channel's event loop.
    func send(_ frame: SharedFrame) {
        context?.writeAndFlush(wrapOutboundOut(frame.bytes), promise: nil)
    }
}
