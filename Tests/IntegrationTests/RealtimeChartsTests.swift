import Foundation
import RollcastCore
import Testing

/// The plan's regression test: seed mock data over HTTP, then receive it over the WebSocket.
@Suite("Realtime charts end to end", .serialized, .timeLimit(.minutes(1)))
struct RealtimeChartsTests {
    static let symbols = ["ALPHA", "BETA", "GAMMA"]

    @Test("load_mock_data, then the WebSocket delivers exactly those symbols with the documented fields, then a newer snapshot")
    func loadThenReceive() async throws {
        try await RollcastStack.with { stack in
            try await stack.waitUntilReady()
            let load = try await stack.request(.POST, "/api/test/load_mock_data", body: #"{"symbols":["ALPHA","BETA","GAMMA"],"points":50,"seed":7}"#)
            #expect(load.status == .ok, "\(load.body)")
            let loaded = try #require(try JSONSerialization.jsonObject(with: Data(load.body.utf8)) as? [String: Any])
            #expect(loaded["symbols"] as? [String] == Self.symbols)

            let messages = try await WebSocketProbe.messages(2, from: stack.webSocketURL, within: .seconds(10))
            let first = try Self.checkSnapshot(messages[0])
            let second = try Self.checkSnapshot(messages[1])
            #expect(first.map(\.symbol) == Self.symbols)
            #expect(second.map(\.symbol) == Self.symbols)
            #expect(first.allSatisfy { $0.t.count >= 50 }, "the back-filled history is in the first message")
            #expect(second[0].seq > first[0].seq)
        }
    }

    /// Checks one WebSocket message against docs/protocol.md and decodes it.
    static func checkSnapshot(_ text: String) throws -> [ChartObject] {
        let array = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]], "a JSON array of objects")
        for object in array {
            #expect(object["symbol"] is String)
            #expect(object["run_id"] is String)
            for key in ["seq", "generated_at", "interval_ms", "window_s"] { #expect(object[key] is NSNumber, "\(key) is a number") }
            for key in ["t", "price", "volume"] { #expect(object[key] is [NSNumber], "\(key) is an array of numbers") }
        }
        let charts = try JSONDecoder().decode([ChartObject].self, from: Data(text.utf8))
        for chart in charts {
            #expect(zip(chart.t, chart.t.dropFirst()).allSatisfy { $0 < $1 }, "t is strictly ascending for \(chart.symbol)")
            #expect(chart.price.count == chart.t.count)
            #expect(chart.volume.count == chart.t.count)
            #expect(chart.seq == charts[0].seq, "one seq per snapshot")
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            #expect(abs(now - chart.generatedAt) < 60_000, "generated_at is Unix milliseconds")
        }
        return charts
    }

    @Test("a client that connects gets the latest snapshot at once, not after an interval")
    func latestAtOnce() async throws {
        try await RollcastStack.with(producerArguments: ["--mock-symbols", "ONE,TWO", "--interval", "5"]) { stack in
            try await stack.waitUntilReady(within: .seconds(20))
            let started = ContinuousClock.now
            let messages = try await WebSocketProbe.messages(1, from: stack.webSocketURL, within: .seconds(4))
            #expect(started.duration(to: .now) < .seconds(2), "the cached snapshot arrives well before the next one (5 s)")
            #expect(try Self.checkSnapshot(messages[0]).map(\.symbol) == ["ONE", "TWO"])
        }
    }

    @Test("the same seed loads the same history")
    func deterministicLoad() async throws {
        try await RollcastStack.with { stack in
            try await stack.waitUntilReady()
            func loadedPrices() async throws -> [Double] {
                let load = try await stack.request(.POST, "/api/test/load_mock_data", body: #"{"symbols":["DET"],"points":20,"seed":99}"#)
                #expect(load.status == .ok)
                let window = try await stack.request(.GET, "/api/realtime_window")
                let chart = try JSONDecoder().decode(ChartObject.self, from: Data(window.body.split(separator: "\n")[0].utf8))
                return Array(chart.price.prefix(20))
            }
            let first = try await loadedPrices()
            #expect(first.count == 20)
            #expect(try await loadedPrices() == first)
        }
    }

    @Test("GET /api/realtime_window streams the current charts once as NDJSON, then ends")
    func realtimeWindow() async throws {
        try await RollcastStack.with(producerArguments: ["--mock-symbols", "AAA,BBB,CCC", "--interval", "0.5"]) { stack in
            try await stack.waitUntilReady()
            let answer = try await stack.request(.GET, "/api/realtime_window")
            #expect(answer.status == .ok)
            #expect(answer.headers.first(name: "content-type") == "application/x-ndjson")
            let lines = answer.body.split(separator: "\n", omittingEmptySubsequences: false)
            #expect(lines.last == "", "the body ends with a newline")
            let charts = try lines.dropLast().map { try JSONDecoder().decode(ChartObject.self, from: Data($0.utf8)) }
            #expect(charts.map(\.symbol) == ["AAA", "BBB", "CCC"])
            #expect(charts.allSatisfy { !$0.t.isEmpty && $0.t.count == $0.price.count })
        }
    }
}
