import Foundation
import HummingbirdWSClient
import HummingbirdWSCompression
import Logging
import Testing

@Suite("permessage-deflate", .serialized, .timeLimit(.minutes(1)))
struct CompressionTests {
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
            let inflated = try await withTimeout(.seconds(15), "a compressed message") {
                let collected = Collected<String>()
                let configuration = WebSocketClientConfiguration(
                    maxFrameSize: 64 << 20,
                    extensions: [.perMessageDeflate(maxDecompressedFrameSize: 64 << 20)]
                )
                try await WebSocketClient.connect(url: url, configuration: configuration, logger: Logger(label: "probe")) { inbound, _, _ in
                    for try await message in inbound.messages(maxSize: 64 << 20) {
                        if case .text(let text) = message, await collected.append(text) >= 1 { return }
                    }
                }
                return await collected.items[0]
            }
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

            // Clients have nothing to send; a compressed message from one is a protocol error.
            let code = try await Task.detached {
                let socket = try RawWebSocket(port: port, extensions: "permessage-deflate")
                try socket.sendFrame(opcode: 0x1, payload: [0xF2, 0x48, 0x05, 0x00], rsv1: true)
                return try socket.closeCode()
            }.value
            #expect(code == 1002)
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
