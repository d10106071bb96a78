import Foundation
import RollcastCore
import Testing

@Suite("Ingest API", .serialized, .timeLimit(.minutes(1)))
struct IngestTests {
    @Test("POST /api/ingest puts real ticks in the next snapshots; bad ticks get 400 naming the tick")
    func ingest() async throws {
        try await RollcastStack.with { stack in
            try await stack.waitUntilReady()
            let now = Date().timeIntervalSince1970
            let ticks = (0..<5).map { #"{"symbol":"REAL","t":\#(now - 5 + Double($0)),"price":\#(100 + Double($0)),"volume":10}"# }
            let answer = try await stack.request(.POST, "/api/ingest", body: #"{"ticks":[\#(ticks.joined(separator: ","))]}"#)
            #expect(answer.status == .ok, "\(answer.body)")
            let result = try JSONDecoder().decode(IngestResult.self, from: Data(answer.body.utf8))
            #expect(result.appended == 5 && result.newSymbols == ["REAL"])

            let charts = try await poll("REAL in the window", within: .seconds(5)) { () -> [ChartObject]? in
                let window = try await stack.request(.GET, "/api/realtime_window")
                let charts = try window.body.split(separator: "\n").map { try JSONDecoder().decode(ChartObject.self, from: Data($0.utf8)) }
                return charts.first { $0.symbol == "REAL" && $0.seq >= result.visibleFromSeq }.map { [$0] }
            }
            #expect(charts[0].price == [100, 101, 102, 103, 104])

            let again = try await stack.request(.POST, "/api/ingest", body: #"{"ticks":[\#(ticks[4]),{"symbol":"REAL","t":1000,"price":1}]}"#)
            let counts = try JSONDecoder().decode(IngestResult.self, from: Data(again.body.utf8))
            #expect(counts.merged == 1 && counts.tooOld == 1)

            let bad = try await stack.request(.POST, "/api/ingest", body: #"{"ticks":[\#(ticks[0]),{"symbol":"BAD SYMBOL","t":1,"price":1}]}"#)
            #expect(bad.status == .badRequest)
            #expect(bad.errorReason == "ticks[1]: symbol 'BAD SYMBOL' may hold only letters, digits and . _ - : /")
            #expect(try await stack.request(.GET, "/api/ingest").status == .methodNotAllowed)
        }
    }
}
