import NIOCore
import NIOEmbedded
import NIOWebSocket
import Testing

@testable import RollcastGateway

/// What a client's frames get back, on an embedded channel whose clock the test moves: the
/// close handshake both ways, pongs, and the close code for each message the gateway refuses.
@Suite("ClientFrameHandler")
struct ClientFrameHandlerTests {
    let channel = EmbeddedChannel()
    let handler = ClientFrameHandler(maxMessageBytes: 4096) { _ in }
    let mask = WebSocketMaskingKey([1, 2, 3, 4] as [UInt8])!

    init() throws {
        try channel.pipeline.syncOperations.addHandler(handler)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9)).wait()
    }

    func send(_ opcode: WebSocketOpcode, _ bytes: [UInt8] = [], fin: Bool = true, rsv1: Bool = false) throws {
        var data = ByteBuffer(bytes: bytes)
        data.webSocketMask(mask)
        try channel.writeInbound(WebSocketFrame(fin: fin, rsv1: rsv1, opcode: opcode, maskKey: mask, data: data))
    }

    /// The frames the handler wrote, in order.
    func written() throws -> [WebSocketFrame] {
        var frames: [WebSocketFrame] = []
        while let frame = try channel.readOutbound(as: WebSocketFrame.self) { frames.append(frame) }
        return frames
    }

    func closeCode(of frame: WebSocketFrame) -> (code: UInt16?, reason: String) {
        var data = frame.data
        let code = data.readWebSocketErrorCode().map { UInt16(webSocketErrorCode: $0) }
        return (code, data.readString(length: data.readableBytes) ?? "")
    }

    /// The one close frame the handler wrote for what was sent: its code.
    func refusal(after send: () throws -> Void) throws -> UInt16? {
        try send()
        let frames = try written()
        #expect(frames.count == 1)
        #expect(frames.first?.opcode == .connectionClose)
        return frames.first.flatMap { closeCode(of: $0).code }
    }

    @Test("a ping gets a pong with its payload; text, binary and fragmented messages within 4 KiB get nothing")
    func pingsAndMessages() throws {
        try send(.ping, [7, 7])
        let pong = try #require(try written().first)
        #expect(pong.opcode == .pong)
        #expect(pong.data == ByteBuffer(bytes: [7, 7]))
        try send(.text, Array("héllo".utf8))
        try send(.binary, [0xFF, 0x00])
        try send(.text, Array(repeating: 0x61, count: 2_000), fin: false)
        try send(.continuation, Array(repeating: 0x61, count: 2_000))
        #expect(try written().isEmpty)
        #expect(channel.isActive)
    }

    @Test("the client's close is echoed with its code, then the connection closes")
    func clientCloses() throws {
        try send(.connectionClose, [0x03, 0xE8] + Array("bye".utf8))
        let frames = try written()
        #expect(frames.map(\.opcode) == [.connectionClose])
        #expect(closeCode(of: frames[0]).code == 1000)
        #expect(!channel.isActive)
    }

    @Test("refused messages close with the RFC's codes", arguments: [
        ("over 4 KiB in two frames", UInt16(1009)),
        ("text that is not UTF-8 across frames", 1007),
        ("a continuation with nothing to continue", 1002),
        ("a new message inside a fragmented one", 1002),
        ("a compressed message", 1002),
        ("a reserved opcode", 1002),
        ("a close code no client may send", 1002),
        ("a one-byte close frame", 1002),
        ("a close reason that is not UTF-8", 1007),
    ])
    func refusals(name: String, code: UInt16) throws {
        let got = try refusal {
            switch name {
            case "over 4 KiB in two frames":
                try send(.binary, Array(repeating: 1, count: 3_000), fin: false)
                try send(.continuation, Array(repeating: 1, count: 1_097))
            case "text that is not UTF-8 across frames":
                // The two bytes of "é" split over two frames are valid; a stray continuation byte is not.
                try send(.text, [0x68, 0xC3], fin: false)
                try send(.continuation, [0xA9, 0x80])
            case "a continuation with nothing to continue": try send(.continuation, [1])
            case "a new message inside a fragmented one":
                try send(.text, [0x61], fin: false)
                try send(.text, [0x61])
            case "a compressed message": try send(.text, [0xF2, 0x48, 0x05, 0x00], rsv1: true)
            case "a reserved opcode": try send(WebSocketOpcode(encodedWebSocketOpcode: 0x3)!, [1])
            case "a close code no client may send": try send(.connectionClose, [0x03, 0xED])  // 1005
            case "a one-byte close frame": try send(.connectionClose, [0x03])
            default: try send(.connectionClose, [0x03, 0xE8, 0xFF])
            }
        }
        #expect(got == code, "\(name)")
    }

    @Test("a close the gateway starts waits a second for the client's close, then drops the connection; nothing is written after it")
    func gatewayCloses() throws {
        handler.close(.goingAway, reason: "server shutting down", because: .shutdown)
        let frames = try written()
        #expect(frames.count == 1)
        #expect(closeCode(of: frames[0]) == (1001, "server shutting down"))
        try send(.ping, [1])
        handler.close(.policyViolation, reason: "again", because: .tooSlow)
        #expect(try written().isEmpty, "no pong and no second close after the close frame")
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(999))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(1))
        #expect(!channel.isActive)
    }

    @Test("a client that answers the gateway's close ends the connection at once")
    func handshakeCompleted() throws {
        handler.close(.goingAway, reason: "server shutting down", because: .shutdown)
        _ = try written()
        try send(.connectionClose, [0x03, 0xE9])
        #expect(!channel.isActive)
        #expect(try written().isEmpty, "the client's close is not echoed back a second time")
    }

    @Test("the server's quiesce at shutdown closes with 1001; a frame too long for the decoder with 1009")
    func quiesceAndDecoderErrors() throws {
        channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        #expect(try written().map { closeCode(of: $0).code } == [1001])

        let other = EmbeddedChannel()
        try other.pipeline.syncOperations.addHandler(ClientFrameHandler(maxMessageBytes: 4096) { _ in })
        other.pipeline.fireErrorCaught(NIOWebSocketError.invalidFrameLength)
        let frame = try #require(try other.readOutbound(as: WebSocketFrame.self))
        #expect(closeCode(of: frame).code == 1009)
    }
}
