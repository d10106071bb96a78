import NIOCore

/// Reads a Server-Sent Events stream (`/sse/realtime_charts`) as the WebSocket skimmer reads
/// frames: chunk header by chunk header, keeping only the first bytes of each event (where
/// `seq` and `generated_at` are) and stepping over the rest without copying it. The gateway
/// writes one event per chunk; arrival is the moment the chunk's last byte is read. Chunks
/// without a `seq` (the `retry:` hint, keep-alive comments) are not counted.
final class SkimmingEventStreamReader: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum Phase {
        case head
        case chunkSize
        case chunkData(remaining: Int)
        case chunkEnd(remaining: Int)
    }

    private static let headBytes = 300

    private let client: Int
    private let port: Int
    private let path: String
    private let recorder: FanoutRecorder
    private var upgraded: EventLoopPromise<Bool>?
    private var phase = Phase.head
    private var pending = ByteBuffer()
    private var eventHead = ByteBuffer()
    private var eventBytes = 0
    private var chunkSize = 0

    /// - Parameter path: the stream's path and query (`/sse/realtime_charts?stream=delta…`).
    init(client: Int, port: Int, path: String, recorder: FanoutRecorder, upgraded: EventLoopPromise<Bool>) {
        self.client = client
        self.port = port
        self.path = path
        self.recorder = recorder
        self.upgraded = upgraded
    }

    func channelActive(context: ChannelHandlerContext) {
        let request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nAccept: text/event-stream\r\n\r\n"
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: request)), promise: nil)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(false)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if upgraded == nil { recorder.markError() }
        finish(false)
        context.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var input = unwrapInboundIn(data)
        while input.readableBytes > 0 {
            switch phase {
            case .head:
                pending.writeBuffer(&input)
                let bytes = pending.readableBytesView
                guard let end = bytes.firstRange(of: Array("\r\n\r\n".utf8)) else { return }
                guard bytes.starts(with: Array("HTTP/1.1 200".utf8)) else {
                    finish(false)
                    context.close(promise: nil)
                    return
                }
                input = pending.getSlice(at: end.upperBound, length: bytes.endIndex - end.upperBound) ?? ByteBuffer()
                pending = ByteBuffer()
                phase = .chunkSize
                finish(true)
            case .chunkSize:
                // A size line is a few hex digits and CRLF, read digit by digit.
                var ended = false
                while let byte = input.readInteger(as: UInt8.self) {
                    if byte == UInt8(ascii: "\n") {
                        ended = true
                        break
                    }
                    if let digit = Self.hexValue(byte) { chunkSize = chunkSize * 16 + digit }
                }
                guard ended else { return }
                let size = chunkSize
                chunkSize = 0
                guard size > 0 else {
                    context.close(promise: nil)
                    return
                }
                eventHead.clear()
                eventBytes = size
                phase = .chunkData(remaining: size)
            case .chunkData(let remaining):
                let count = min(remaining, input.readableBytes)
                let wanted = Self.headBytes - eventHead.readableBytes
                if wanted > 0 { eventHead.writeBytes(input.readableBytesView.prefix(min(wanted, count))) }
                input.moveReaderIndex(forwardBy: count)
                phase = count == remaining ? .chunkEnd(remaining: 2) : .chunkData(remaining: remaining - count)
            case .chunkEnd(let remaining):
                let count = min(remaining, input.readableBytes)
                input.moveReaderIndex(forwardBy: count)
                guard count == remaining else {
                    phase = .chunkEnd(remaining: remaining - count)
                    return
                }
                phase = .chunkSize
                recorder.record(client: client, head: String(decoding: eventHead.readableBytesView, as: UTF8.self), receivedAt: unixMilliseconds(), bytes: eventBytes)
            }
        }
    }

    private static func hexValue(_ byte: UInt8) -> Int? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): Int(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): Int(byte - UInt8(ascii: "a")) + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): Int(byte - UInt8(ascii: "A")) + 10
        default: nil
        }
    }

    private func finish(_ result: Bool) {
        upgraded?.succeed(result)
        upgraded = nil
    }
}
