import NIOCore
import NIOPosix

/// A client that speaks just enough WebSocket to be served, and reads as little as it can:
/// see `SkimmingSnapshotReader`.
func connectSkimmingClient(
    _ client: Int, port: Int, path: String = "/ws/realtime_charts", group: any EventLoopGroup, recorder: FanoutRecorder, deflate: Bool, delta: Bool = false, token: String? = nil,
    bytesPerSecond: Double?
) async -> Bool {
    // One `next()` per client: the promise and the channel share the loop, and clients
    // spread over the loops in turn.
    let loop = group.next()
    let upgraded = loop.makePromise(of: Bool.self)
    do {
        _ = try await ClientBootstrap(group: loop)
            .pacedReads(bytesPerSecond != nil)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let bytesPerSecond { try channel.pipeline.syncOperations.addHandler(ReadPacer(bytesPerSecond: bytesPerSecond)) }
                    let inflater = deflate ? try HeadInflater.forCurrentThread() : nil
                    let reader = SkimmingSnapshotReader(
                        client: client, port: port, path: path, recorder: recorder, inflater: inflater, delta: delta, token: token, upgraded: upgraded
                    )
                    try channel.pipeline.syncOperations.addHandler(reader)
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        return try await upgraded.futureResult.get()
    } catch {
        upgraded.succeed(false)  // a promise ignores a second result: this only covers a connect that never reached the reader
        return false
    }
}

/// Reads a WebSocket stream frame header by frame header. Of each message it keeps only the
/// first bytes (where `seq` and `generated_at` are) and steps over the rest of the payload
/// in the receive buffer, so the 163 KB of a snapshot are neither gathered nor copied again
/// after the kernel's copy. Arrival is the moment the message's last byte is read, as for a
/// client that reads messages whole. Pings are answered; a close frame ends the connection.
final class SkimmingSnapshotReader: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum Phase {
        case handshake
        case frameHeader
        case payload(remaining: Int)
    }

    /// Plain messages keep this many bytes; compressed ones keep more, enough to inflate it.
    private static let plainHeadBytes = 300
    private static let compressedHeadBytes = 2048

    private let client: Int
    private let port: Int
    private let path: String
    private let recorder: FanoutRecorder
    private let inflater: HeadInflater?
    /// Ask for the delta stream (`rollcast.delta.v1`).
    private let delta: Bool
    /// A token to connect with, for a gateway that asks for one.
    private let token: String?
    private var upgraded: EventLoopPromise<Bool>?

    private var phase = Phase.handshake
    private var handshake = ByteBuffer()
    private var header = ByteBuffer()
    private var opcode: UInt8 = 0
    private var final = false
    /// The current message: compressed (RSV1 on its first frame) and its first bytes.
    private var messageCompressed = false
    private var messageHead = ByteBuffer()
    private var messageBytes = 0
    private var controlPayload = ByteBuffer()

    init(
        client: Int, port: Int, path: String = "/ws/realtime_charts", recorder: FanoutRecorder, inflater: HeadInflater?, delta: Bool = false, token: String? = nil,
        upgraded: EventLoopPromise<Bool>
    ) {
        self.path = path
        self.delta = delta
        self.token = token
        self.client = client
        self.port = port
        self.recorder = recorder
        self.inflater = inflater
        self.upgraded = upgraded
    }

    func channelActive(context: ChannelHandlerContext) {
        var request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        request += "Sec-WebSocket-Key: \(Self.randomKey())\r\nSec-WebSocket-Version: 13\r\n"
        if inflater != nil { request += "Sec-WebSocket-Extensions: permessage-deflate\r\n" }
        if let offered = offeredSubprotocols(delta: delta, token: token) { request += "Sec-WebSocket-Protocol: \(offered)\r\n" }
        request += "\r\n"
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: request)), promise: nil)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        finishUpgrade(false)
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        finishUpgrade(false)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if upgraded == nil { recorder.markError() }
        finishUpgrade(false)
        context.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var input = unwrapInboundIn(data)
        while input.readableBytes > 0 {
            switch phase {
            case .handshake:
                guard let rest = readHandshake(from: &input, context: context) else { return }
                input = rest
            case .frameHeader:
                guard readFrameHeader(from: &input, context: context) else { return }
            case .payload(let remaining):
                let count = min(remaining, input.readableBytes)
                keep(input.readableBytesView.prefix(count))
                input.moveReaderIndex(forwardBy: count)
                if count == remaining {
                    endFrame(context: context)
                } else {
                    phase = .payload(remaining: remaining - count)
                }
            }
        }
    }

    /// Gathers the 101 answer; returns the bytes after it, or nil while it is incomplete or refused.
    private func readHandshake(from input: inout ByteBuffer, context: ChannelHandlerContext) -> ByteBuffer? {
        handshake.writeBuffer(&input)
        let bytes = handshake.readableBytesView
        guard let end = bytes.firstRange(of: Array("\r\n\r\n".utf8)) else {
            if bytes.count > 16_384 { refuse(context: context) }
            return nil
        }
        guard bytes.starts(with: Array("HTTP/1.1 101".utf8)) else {
            refuse(context: context)
            return nil
        }
        let rest = handshake.getSlice(at: end.upperBound, length: bytes.endIndex - end.upperBound) ?? ByteBuffer()
        handshake = ByteBuffer()
        phase = .frameHeader
        finishUpgrade(true)
        return rest
    }

    /// Reads as much of a frame header as `input` holds; true once the frame's payload begins.
    private func readFrameHeader(from input: inout ByteBuffer, context: ChannelHandlerContext) -> Bool {
        while header.readableBytes < 2, let byte = input.readInteger(as: UInt8.self) { header.writeInteger(byte) }
        guard header.readableBytes >= 2, let first = header.getInteger(at: header.readerIndex, as: UInt8.self),
            let second = header.getInteger(at: header.readerIndex + 1, as: UInt8.self)
        else { return false }
        let lengthCode = second & 0x7F
        let extraLength = lengthCode == 126 ? 2 : lengthCode == 127 ? 8 : 0
        let masked = second & 0x80 != 0
        let headerLength = 2 + extraLength + (masked ? 4 : 0)
        while header.readableBytes < headerLength, let byte = input.readInteger(as: UInt8.self) { header.writeInteger(byte) }
        guard header.readableBytes == headerLength else { return false }
        guard !masked else {
            // A server never masks its frames.
            context.fireErrorCaught(SkimmingError.maskedServerFrame)
            return false
        }
        header.moveReaderIndex(forwardBy: 2)
        let length: Int
        switch extraLength {
        case 2: length = Int(header.readInteger(as: UInt16.self)!)
        case 8: length = Int(clamping: header.readInteger(as: UInt64.self)!)
        default: length = Int(lengthCode)
        }
        header.clear()
        opcode = first & 0x0F
        final = first & 0x80 != 0
        if opcode == 0x1 || opcode == 0x2 {
            messageCompressed = first & 0x40 != 0
            messageHead.clear()
            messageBytes = 0
        } else if opcode >= 0x8 {
            controlPayload.clear()
        }
        if opcode <= 0x2 { messageBytes += length }
        if length == 0 {
            endFrame(context: context)
        } else {
            phase = .payload(remaining: length)
        }
        return true
    }

    private func keep(_ bytes: ByteBufferView.SubSequence) {
        if opcode >= 0x8 {
            // A control payload is at most 125 bytes (RFC 6455 §5.5), however it arrives.
            let room = 125 - controlPayload.readableBytes
            if room > 0 { controlPayload.writeBytes(bytes.prefix(room)) }
        } else {
            let limit = messageCompressed ? Self.compressedHeadBytes : Self.plainHeadBytes
            let wanted = limit - messageHead.readableBytes
            if wanted > 0 { messageHead.writeBytes(bytes.prefix(wanted)) }
        }
    }

    private func endFrame(context: ChannelHandlerContext) {
        phase = .frameHeader
        switch opcode {
        case 0x0, 0x1, 0x2:
            guard final else { return }
            let now = unixMilliseconds()
            let head: String
            if messageCompressed, let inflater {
                head = inflater.head(of: messageHead, bytes: Self.plainHeadBytes) ?? ""
            } else {
                head = String(decoding: messageHead.readableBytesView, as: UTF8.self)
            }
            recorder.record(client: client, head: head, receivedAt: now, bytes: messageBytes)
        case 0x9:
            context.writeAndFlush(wrapOutboundOut(Self.maskedFrame(opcode: 0xA, payload: controlPayload, allocator: context.channel.allocator)), promise: nil)
        case 0x8:
            let reply = Self.maskedFrame(opcode: 0x8, payload: controlPayload, allocator: context.channel.allocator)
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(reply)).whenComplete { _ in channel.close(promise: nil) }
        default:
            break
        }
    }

    private func refuse(context: ChannelHandlerContext) {
        finishUpgrade(false)
        context.close(promise: nil)
    }

    private func finishUpgrade(_ result: Bool) {
        upgraded?.succeed(result)
        upgraded = nil
    }

    /// A client's frames are masked (RFC 6455 §5.3).
    static func maskedFrame(opcode: UInt8, payload: ByteBuffer, allocator: ByteBufferAllocator) -> ByteBuffer {
        let mask = (0..<4).map { _ in UInt8.random(in: 0...255) }
        var frame = allocator.buffer(capacity: 6 + payload.readableBytes)
        frame.writeInteger(0x80 | opcode)
        frame.writeInteger(0x80 | UInt8(payload.readableBytes))
        frame.writeBytes(mask)
        for (index, byte) in payload.readableBytesView.enumerated() { frame.writeInteger(byte ^ mask[index % 4]) }
        return frame
    }

    static func randomKey() -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        // 16 random bytes in base64: 21 free characters, then one holding the last 2 bits.
        let body = String((0..<21).map { _ in alphabet.randomElement()! })
        return body + String(alphabet[Int.random(in: 0..<4) * 16]) + "=="
    }
}

enum SkimmingError: Error {
    case maskedServerFrame
}

/// A client of the event stream at `path`, read by ``SkimmingEventStreamReader``.
func connectEventStreamClient(_ client: Int, port: Int, path: String, group: any EventLoopGroup, recorder: FanoutRecorder) async -> Bool {
    let loop = group.next()
    let started = loop.makePromise(of: Bool.self)
    do {
        _ = try await ClientBootstrap(group: loop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        SkimmingEventStreamReader(client: client, port: port, path: path, recorder: recorder, upgraded: started)
                    )
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        return try await started.futureResult.get()
    } catch {
        started.succeed(false)
        return false
    }
}
