import Foundation
import HummingbirdWSClient
import HummingbirdWSCompression
import Logging
import RollcastCore
import Testing

@Suite("permessage-deflate", .serialized, .timeLimit(.minutes(1)))
struct CompressionTests {
    /// The first message a client that offers `permessage-deflate` receives from `url`, inflated
    /// (by the WebSocket client's own extension, not by anything of the gateway's).
    static func firstInflatedMessage(from url: String) async throws -> String {
        try await withTimeout(.seconds(15), "a compressed message") {
            let collected = Collected<String>()
            let configuration = WebSocketClientConfiguration(maxFrameSize: 64 << 20, extensions: [.perMessageDeflate(maxDecompressedFrameSize: 64 << 20)])
            try await WebSocketClient.connect(url: url, configuration: configuration, logger: Logger(label: "probe")) { inbound, _, _ in
                for try await message in inbound.messages(maxSize: 64 << 20) {
                    if case .text(let text) = message, await collected.append(text) >= 1 { return }
                }
            }
            return await collected.items[0]
        }
    }

    @Test("with --permessage-deflate a client that offers it gets smaller frames that inflate to the same snapshot")
    func sharedCompressedFrames() async throws {
        try await RollcastStack.with(
            producerArguments: ["--mock-symbols", "Z1,Z2,Z3", "--interval", "30"], gatewayArguments: ["--permessage-deflate"]
        ) { stack in
            try await stack.waitUntilReady(within: .seconds(20))
            let url = stack.webSocketURL
            // With 30 s between snapshots both clients get the same cached one first.
            // Deadlines against a hang, not measurements: a CI run with every suite starting at once took over 4 s.
            let plain = try await WebSocketProbe.messages(1, from: url, within: .seconds(15))[0]
            let inflated = try await Self.firstInflatedMessage(from: url)
            #expect(inflated == plain)

            // On the wire: RSV1 set and far fewer bytes than the JSON.
            let port = stack.port
            let (rsv1, compressedBytes) = try await Task.detached {
                let socket = try RawWebSocket(port: port, extensions: "permessage-deflate; client_max_window_bits")
                return try socket.firstDataFrame()
            }.value
            #expect(rsv1)
            print("permessage-deflate: \(plain.utf8.count) bytes of JSON sent as \(compressedBytes)")
            #expect(compressedBytes * 3 < plain.utf8.count)

            // A client that negotiated it may send compressed (browsers do): its messages are
            // inflated, at most 4 KiB out. Without it, a compressed message is a protocol error.
            try await Task.detached {
                let hi: [UInt8] = [0xF2, 0xC8, 0x04, 0x00]
                let negotiated = try RawWebSocket(port: port, extensions: "permessage-deflate")
                _ = try negotiated.firstDataFrame()
                // Inflated and dropped, as any message of a full-stream client: had it closed the
                // connection, the close below would say 1002, not 1009.
                try negotiated.sendFrame(opcode: 0x1, payload: hi, rsv1: true)
                let bomb: [UInt8] = [
                    0xEC, 0xC1, 0x31, 0x01, 0x00, 0x00, 0x00, 0xC2, 0xA0, 0xAC, 0xEB, 0x5F, 0xC2, 0x14, 0x7E, 0x40, 0x01, 0x00, 0x00, 0x00, 0x00, 0x6F, 0x03,
                ]
                try negotiated.sendFrame(opcode: 0x1, payload: bomb, rsv1: true)  // 5,000 bytes once inflated
                let tooLarge = try negotiated.closeFrame()
                #expect(tooLarge?.code == 1009, "\(String(describing: tooLarge))")
                #expect(tooLarge?.reason == "a message over 4096 bytes once inflated")
                let plain = try RawWebSocket(port: port)
                try plain.sendFrame(opcode: 0x1, payload: hi, rsv1: true)
                #expect(try plain.closeCode() == 1002)
            }.value
        }
    }

    @Test("clients of one selection that negotiated permessage-deflate share its compressed message, which inflates to the plain one")
    func compressedSelection() async throws {
        try await RollcastStack.with(
            producerArguments: ["--mock-symbols", "Z1,Z2,Z3", "--interval", "30"], gatewayArguments: ["--permessage-deflate"]
        ) { stack in
            try await stack.waitUntilReady(within: .seconds(20))
            let url = stack.webSocketURL + "?symbols=Z1,Z3"
            // With 30 s between snapshots every client gets the same cached one.
            let plain = try await WebSocketProbe.messages(1, from: url, within: .seconds(15))[0]
            #expect(try SubscriptionTests.chartTexts(plain).map(\.symbol) == ["Z1", "Z3"])
            let inflated = try await Self.firstInflatedMessage(from: url)
            #expect(inflated == plain)
            let port = stack.port
            let (rsv1, compressedBytes) = try await Task.detached {
                try RawWebSocket(port: port, path: "/ws/realtime_charts?symbols=Z1,Z3", extensions: "permessage-deflate").firstDataFrame()
            }.value
            #expect(rsv1, "the selection's message is compressed")
            #expect(compressedBytes * 3 < plain.utf8.count, "\(compressedBytes) compressed bytes for \(plain.utf8.count)")
        }
    }

    @Test("a delta client that negotiated permessage-deflate changes its symbols with a compressed message")
    func compressedChange() async throws {
        try await RollcastStack.with(
            producerArguments: ["--mock-symbols", "Z1,Z2", "--interval", "0.3"], gatewayArguments: ["--permessage-deflate"]
        ) { stack in
            try await stack.waitUntilReady()
            let port = stack.port
            try await Task.detached {
                // {"unsubscribe":["*"],"subscribe":["Z2"]}, deflated as a browser sends it.
                let change: [UInt8] = [
                    0xAA, 0x56, 0x2A, 0xCD, 0x2B, 0x2E, 0x4D, 0x2A, 0x4E, 0x2E, 0xCA, 0x4C, 0x4A, 0x55, 0xB2, 0x8A, 0x56, 0xD2, 0x52, 0x8A, 0xD5, 0x51,
                    0x42, 0x11, 0x89, 0x32, 0x52, 0x8A, 0xAD, 0x05, 0x00,
                ]
                let client = try RawWebSocket(port: port, extensions: "permessage-deflate", headers: ["Sec-WebSocket-Protocol: rollcast.delta.v1"])
                _ = try client.firstDataFrame()
                try client.sendFrame(opcode: 0x1, payload: change, rsv1: true)
                // The selection's messages come compressed too.
                var text = try client.nextInflatedText()
                while !text.contains(#""kind":"full""#) { text = try client.nextInflatedText() }
                guard case .full(_, _, let charts) = try JSONDecoder().decode(DeltaStreamMessage.self, from: Data(text.utf8)) else { return }
                #expect(charts.map(\.symbol) == ["Z2"])
            }.value
        }
    }

    @Test("a client that does not offer it, or asks for a narrow window, gets plain frames")
    func declined() async throws {
        try await RollcastStack.with(
            producerArguments: ["--mock-symbols", "Z1", "--interval", "0.5"], gatewayArguments: ["--permessage-deflate"]
        ) { stack in
            try await stack.waitUntilReady()
            let port = stack.port
            for offer in [nil, "permessage-deflate; server_max_window_bits=10"] {
                let rsv1 = try await Task.detached {
                    try RawWebSocket(port: port, extensions: offer).firstDataFrame().rsv1
                }.value
                #expect(!rsv1, "offer \(offer ?? "none")")
            }
        }
    }
}
