import Foundation
import RollcastCore
import Synchronization
import Testing

/// The opt-in delta stream (`rollcast.delta.v1`) against the full stream, from real processes.
@Suite("Delta stream", .serialized, .timeLimit(.minutes(2)))
struct DeltaStreamTests {
    /// A delta-stream client: the reference reader, and what it was sent.
    struct Reader {
        var charts = DeltaStreamCharts()
        var fulls = 0
        var deltas = 0

        /// Applies `message`; fails the test on a delta without its base.
        mutating func apply(_ message: DeltaStreamMessage) {
            do {
                try charts.apply(message)
            } catch {
                Issue.record("\(error)")
            }
            if case .full = message { fulls += 1 } else { deltas += 1 }
        }
    }

    @Test("a delta client and a full client side by side over 20 snapshots see the same charts at every seq; an unknown subprotocol gets the full stream")
    func sideBySide() async throws {
        try await RollcastStack.with(producerArguments: ["--mock-symbols", "DA,DB,DC", "--mock-rate", "5", "--interval", "0.2", "--window", "10"]) { stack in
            try await stack.waitUntilReady()
            let port = stack.port
            let (fullMessages, deltaMessages, deltaHead, unknown) = try await Task.detached { () -> ([String], [String], String, (String, String)) in
                let full = try RawWebSocket(port: port)
                let delta = try RawWebSocket(port: port, headers: ["Sec-WebSocket-Protocol: rollcast.delta.v1"])
                let other = try RawWebSocket(port: port, headers: ["Sec-WebSocket-Protocol: chat.v2"])
                let unknownFirst = try other.nextText()
                var fulls: [String] = []
                var deltas: [String] = []
                for _ in 0..<22 {
                    fulls.append(try full.nextText())
                    deltas.append(try delta.nextText())
                }
                return (fulls, deltas, delta.responseHead, (other.responseHead, unknownFirst))
            }.value
            #expect(deltaHead.contains("Sec-WebSocket-Protocol: rollcast.delta.v1\r\n"))
            #expect(!unknown.0.contains("Sec-WebSocket-Protocol"), "no subprotocol chosen for an unknown offer")
            #expect(unknown.1.hasPrefix("[{"), "the full stream for an unknown offer")

            let decoder = JSONDecoder()
            var fullBySeq: [UInt64: [ChartObject]] = [:]
            for text in fullMessages {
                let charts = try decoder.decode([ChartObject].self, from: Data(text.utf8))
                if let seq = charts.first?.seq { fullBySeq[seq] = charts }
            }
            var rebuilt = Reader()
            var compared = 0
            var deltaBytes: [Int] = []
            for text in deltaMessages {
                #expect(text.hasPrefix(#"{"kind":"full","seq":"#) || text.hasPrefix(#"{"kind":"delta","seq":"#), "\(text.prefix(40))")
                let message = try decoder.decode(DeltaStreamMessage.self, from: Data(text.utf8))
                rebuilt.apply(message)
                if case .delta = message { deltaBytes.append(text.utf8.count) }
                guard let expected = fullBySeq[message.seq] else { continue }
                #expect(rebuilt.charts.sorted == expected, "every chart at seq \(message.seq), every field")
                compared += 1
            }
            #expect(rebuilt.fulls == 1, "one full message, then deltas only")
            #expect(rebuilt.deltas == 21)
            #expect(compared >= 20, "compared at \(compared) seqs")
            let fullBytes = fullMessages.last!.utf8.count
            #expect(deltaBytes.max()! * 5 < fullBytes, "deltas \(deltaBytes), full \(fullBytes) bytes")
        }
    }

    @Test("a delta client that stalls gets a full message when it reads again, and never a delta without its base")
    func stalledClient() async throws {
        // Large snapshots (about 1 MB) and a small receive buffer: a client that stops reading
        // for a few intervals misses snapshots.
        try await RollcastStack.with(
            producerArguments: ["--no-mock-feed", "--interval", "0.2", "--window", "600", "--max-points", "0"]
        ) { stack in
            try await stack.waitUntilReady()
            let loaded = try await stack.request(.POST, "/api/test/load_mock_data", body: #"{"symbols":["SA","SB","SC","SD"],"points":10000}"#)
            #expect(loaded.status == .ok, "\(loaded.body)")
            let port = stack.port
            let gate = StallGate()
            let reader = Task.detached { () -> [String] in
                let client = try RawWebSocket(port: port, receiveBuffer: 16_384, timeout: 10, headers: ["Sec-WebSocket-Protocol: rollcast.delta.v1"])
                var texts = [try client.nextText(), try client.nextText()]
                // Stalled, on purpose, until the test has made the gateway skip snapshots for it.
                gate.stalled.store(true, ordering: .releasing)
                let deadline = Date().addingTimeInterval(30)
                while !gate.resume.load(ordering: .acquiring), Date() < deadline { usleep(10_000) }
                // What was queued before the skip comes first; read on to the full message, and one more.
                for _ in 0..<60 {
                    texts.append(try client.nextText())
                    if texts.last!.hasPrefix(#"{"kind":"full""#) { break }
                }
                texts.append(try client.nextText())
                return texts
            }
            _ = try await poll("the client to stall", within: .seconds(10)) { gate.stalled.load(ordering: .acquiring) ? true : nil }
            // Every window replaced a few times: each such delta is as large as the snapshot, and
            // the stalled client's socket fills; the snapshots after them wait, and replace one another.
            for seed in 1...3 {
                let reload = try await stack.request(.POST, "/api/test/load_mock_data", body: #"{"symbols":["SA","SB","SC","SD"],"points":10000,"seed":\#(seed)}"#)
                #expect(reload.status == .ok, "\(reload.body)")
            }
            let skippedBefore = try await Self.skipped(stack)
            _ = try await poll("the gateway to skip snapshots for the stalled client", within: .seconds(20)) {
                try await Self.skipped(stack) > skippedBefore ? true : nil
            }
            gate.resume.store(true, ordering: .releasing)
            let messages = try await reader.value
            let decoder = JSONDecoder()
            var rebuilt = Reader()
            var kinds: [String] = []
            var seqs: [UInt64] = []
            for text in messages {
                let message = try decoder.decode(DeltaStreamMessage.self, from: Data(text.utf8))
                rebuilt.apply(message)  // fails the test on a delta without its base
                if case .full = message { kinds.append("full") } else { kinds.append("delta") }
                seqs.append(message.seq)
            }
            let skipped = zip(seqs, seqs.dropFirst()).contains { $1 > $0 + 1 }
            #expect(skipped, "the stall made the client miss snapshots: \(seqs)")
            #expect(kinds.dropFirst(2).contains("full"), "a full message after the stall: \(kinds) at \(seqs)")
            #expect(kinds.first == "full" && kinds[1] == "delta", "\(kinds)")
        }
    }

    /// Snapshots the gateway skipped for slow clients, from `/api/status`.
    static func skipped(_ stack: RollcastStack) async throws -> Int {
        let status = try JSONSerialization.jsonObject(with: Data(try await stack.request(.GET, "/api/status").body.utf8)) as? [String: Any]
        return status?["snapshots_skipped"] as? Int ?? 0
    }
}

/// Between the test and its stalled reader thread.
final class StallGate: Sendable {
    let stalled = Atomic<Bool>(false)
    let resume = Atomic<Bool>(false)
}
