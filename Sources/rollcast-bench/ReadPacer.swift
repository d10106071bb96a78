import NIOCore
import NIOPosix

/// Makes a connection read no faster than `bytesPerSecond`, like a client on a slow link:
/// after each read it waits as long as those bytes would take at that rate before reading
/// again, and the kernel's buffers fill and push back on the gateway as a slow network would.
/// Needs `autoRead` off, and small reads (one message per read of a few KiB) to pace evenly.
final class ReadPacer: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let bytesPerSecond: Double
    private var bytesSinceRead = 0

    init(bytesPerSecond: Double) {
        self.bytesPerSecond = bytesPerSecond
    }

    func channelActive(context: ChannelHandlerContext) {
        context.read()
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        bytesSinceRead += unwrapInboundIn(data).readableBytes
        context.fireChannelRead(data)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        let wait = TimeAmount.nanoseconds(Int64(Double(bytesSinceRead) / bytesPerSecond * 1e9))
        bytesSinceRead = 0
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.eventLoop.assumeIsolated().scheduleTask(in: wait) {
            let context = loopBound.value
            if context.channel.isActive { context.read() }
        }
        context.fireChannelReadComplete()
    }
}

extension ClientBootstrap {
    /// Reads paced by ``ReadPacer``: no automatic reads, one 4 KiB read at a time.
    func pacedReads(_ paced: Bool) -> ClientBootstrap {
        guard paced else { return self }
        return channelOption(.autoRead, value: false)
            .channelOption(.socketOption(.so_rcvbuf), value: 16384)
            .channelOption(.maxMessagesPerRead, value: 1)
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 4096))
    }
}
