import Foundation
import RollcastCore
import Testing
import ZeroMQ

@Suite("Ingest socket", .serialized, .timeLimit(.minutes(2)))
struct IngestSocketTests {
    @Test("100,000 ticks pushed over the ingest socket all reach the windows; malformed messages between them are counted")
    func pushMany() async throws {
        try await RollcastStack.with(producerArguments: ["--no-mock-feed", "--interval", "0.5", "--max-points", "0"]) { stack in
            try await stack.waitUntilReady()
            let start = Date().timeIntervalSince1970 - 200
            let endpoint = stack.ingestEndpoint
            let malformed: [[[UInt8]]] = [
                [Array("not json at all".utf8)],
                [[0xFF, 0xFE, 0x00, 0x7B]],
                [[]],
                [Array(#"{"ticks":[{"symbol":"BAD","t":1796131255000,"price":1}]}"#.utf8)],
                [Array(#"{"ticks":[{"symbol":"BAD","t":1,"price":1,"volumne":1}]}"#.utf8)],
                [Array(#"{"ticks":[]}"#.utf8)],
                [Array(#"{"ticks":[{"symbol":"OK","t":1,"price":1}]}"#.utf8), Array("second part".utf8)],
            ]
            try await Task.detached {
                let context = try ZMQContext()
                let push = try ZMQSocket(context: context, type: .push)
                try push.setSendTimeout(milliseconds: 10_000)
                // Closing waits until what is queued is delivered.
                try push.setLinger(milliseconds: 10_000)
                try push.connect(endpoint)
                // 10 symbols × 10,000 ticks, 1,000 per batch, each tick at its own time.
                for batch in 0..<100 {
                    let symbol = "Z\(batch % 10)"
                    let ticks = (0..<1_000).map { index -> String in
                        let t = start + Double((batch / 10) * 1_000 + index) * 0.01
                        return #"{"symbol":"\#(symbol)","t":\#(t),"price":\#(100 + index % 7),"volume":1}"#
                    }
                    #expect(try push.send(Array(#"{"ticks":[\#(ticks.joined(separator: ","))]}"#.utf8)))
                    if batch % 15 == 0 { #expect(try push.send(parts: malformed[(batch / 15) % malformed.count])) }
                }
            }.value
            let refusedSent = (0..<100).filter { $0 % 15 == 0 }.count
            let status = try await poll("every pushed batch to be counted", within: .seconds(30)) { () -> ProducerStatus? in
                guard let status = try await stack.producerStatus(), status.ingest.socket.batches + status.ingest.socket.refused >= 100 + refusedSent
                else { return nil }
                return status
            }
            #expect(status.ingest.socket.batches == 100)
            #expect(status.ingest.socket.ticks == 100_000)
            #expect(status.ingest.socket.refused == refusedSent)
            #expect(status.ingest.socket.lastRefusal != nil)
            #expect(stack.producer?.isRunning == true)

            let charts = try await poll("a window with every tick", within: .seconds(30)) { () -> [ChartObject]? in
                let charts = try await stack.window().filter { $0.symbol.hasPrefix("Z") }
                return charts.reduce(0) { $0 + $1.t.count } == 100_000 ? charts : nil
            }
            #expect(charts.map(\.symbol) == (0..<10).map { "Z\($0)" })
            #expect(charts.allSatisfy { $0.t.count == 10_000 && $0.rawPoints == 10_000 })
            #expect(!(try await stack.window()).contains { $0.symbol == "BAD" || $0.symbol == "OK" })
        }
    }
}
