import NIOCore
import NIOEmbedded
import NIOWebSocket
import Testing

@testable import RollcastGateway

/// The frames made once per snapshot: what NIO's own decoder reads back from them, at each
/// length encoding, and when a received payload is reused instead of copied.
@Suite("SharedFrame")
struct SharedFrameTests {
    /// Decodes `bytes` with NIO's WebSocket frame decoder, as a client would.
    func decode(_ bytes: ByteBuffer) throws -> WebSocketFrame {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: 1 << 20)))
        try channel.writeInbound(bytes)
        return try #require(try channel.readInbound(as: WebSocketFrame.self))
    }

    @Test("each length encoding (7-bit, 16-bit, 64-bit) decodes to the payload, as a final text frame", arguments: [0, 125, 126, 65_535, 65_536, 200_000])
    func lengths(length: Int) throws {
        let payload = ByteBuffer(bytes: (0..<length).map { UInt8(truncatingIfNeeded: $0 % 91 + 32) })
        for frame in [SharedFrame(text: payload), payload.withUnsafeReadableBytes { SharedFrame(text: $0) }] {
            let decoded = try decode(frame.bytes)
            #expect(decoded.fin && decoded.opcode == .text && !decoded.rsv1)
            #expect(decoded.data == payload)
            #expect(frame.payload == payload && frame.payloadBytes == length)
        }
    }

    @Test("a compressed frame carries RSV1; parts are joined in order")
    func compressedAndParts() throws {
        let decoded = try decode(SharedFrame(text: ByteBuffer(string: "{\"a\":"), ByteBuffer(string: "1}"), compressed: true).bytes)
        #expect(decoded.rsv1)
        #expect(String(buffer: decoded.data) == "{\"a\":1}")
    }

    @Test("a received frame is reused for its own payload, never for equal bytes elsewhere")
    func reuse() throws {
        let bytes = Array("[{\"symbol\":\"X\"}]".utf8)
        let received = bytes.withUnsafeBytes { SharedFrame(text: $0) }
        #expect(received.carries(received.payload))
        #expect(!received.carries(ByteBuffer(bytes: bytes)), "a copy with the same bytes")
        #expect(!received.carries(received.payload.getSlice(at: received.payload.readerIndex, length: 3)!), "a part of it")
        let reused = ClientFrames(received.payload, receivedAs: received, deflater: nil)
        #expect(reused.plain.bytes.withUnsafeReadableBytes { $0.baseAddress } == received.bytes.withUnsafeReadableBytes { $0.baseAddress })
        let merged = ClientFrames(ByteBuffer(bytes: bytes), receivedAs: received, deflater: nil)
        #expect(merged.plain.bytes == received.bytes, "framed anew, to the same bytes")
    }
}
