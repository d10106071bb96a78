import Foundation
import RollcastCore
import Testing

@Suite("Request parsing")
struct RequestParsingTests {
    func decode(_ json: String) throws -> LoadMockData {
        try JSONDecoder().decode(LoadMockData.self, from: Data(json.utf8))
    }

    @Test("every field is optional and has a documented default")
    func defaults() throws {
        #expect(try decode("{}") == LoadMockData(symbols: ["MOCK-A", "MOCK-B", "MOCK-C"], points: 300, seed: 42))
        #expect(try decode(#"{"symbols":["X"],"points":5,"seed":9}"#) == LoadMockData(symbols: ["X"], points: 5, seed: 9))
    }

    @Test("an unknown field is refused by name")
    func unknownField() {
        #expect(throws: RequestError.invalid("unknown field 'point'; expected symbols, points, seed")) {
            try decode(#"{"symbols":["X"],"point":5}"#)
        }
    }

    @Test("bad values are refused with a reason", arguments: [
        (#"{"symbols":[]}"#, "symbols must not be empty"),
        (#"{"symbols":["  "]}"#, "symbol must not be empty"),
        (#"{"symbols":["A","A"]}"#, "symbol 'A' is listed twice"),
        (#"{"symbols":["a b"]}"#, "symbol 'a b' may hold only letters, digits and . _ - : /"),
        (#"{"symbols":["<script>"]}"#, "symbol '<script>' may hold only letters, digits and . _ - : /"),
        (#"{"points":-1}"#, "points must be between 0 and 100000"),
        (#"{"points":100001}"#, "points must be between 0 and 100000"),
    ])
    func badValues(json: String, reason: String) throws {
        let request = try decode(json)
        #expect(throws: RequestError.invalid(reason)) { try request.validated() }
    }

    @Test("symbols are trimmed; long ones are refused")
    func symbols() throws {
        #expect(try decode(#"{"symbols":[" BTC/USD "]}"#).validated().symbols == ["BTC/USD"])
        #expect(throws: RequestError.self) { try decode(#"{"symbols":["\#(String(repeating: "X", count: 33))"]}"#).validated() }
    }

    @Test("decoding errors read as one line naming the field", arguments: [
        (#"{"symbols":"X"}"#, "'symbols' must be a list"),
        (#"{"points":"many"}"#, "'points' must be a number"),
        (#"{"seed":-3}"#, "seed must be a whole number from 0 to 2^64-1"),
        (#"{"points":1.5}"#, "points must be a whole number from 0 to 100000"),
        ("{nope", "body is not valid JSON"),
    ])
    func decodingReasons(json: String, reason: String) {
        do {
            _ = try decode(json)
            Issue.record("\(json) decoded")
        } catch {
            #expect(DecodingErrorReason.describe(error) == reason)
        }
    }

    @Test("control requests survive a round trip")
    func controlRoundTrip() throws {
        for request in [ControlRequest.status, .loadMockData(LoadMockData(symbols: ["Z"], points: 1, seed: 2))] {
            let data = try JSONEncoder().encode(request)
            #expect(try JSONDecoder().decode(ControlRequest.self, from: data) == request)
        }
        #expect(throws: RequestError.self) {
            try JSONDecoder().decode(ControlRequest.self, from: Data(#"{"command":"reboot"}"#.utf8))
        }
    }

    @Test("settings resolve as flag, then environment, then default")
    func settings() throws {
        let settings = SettingResolver(environment: ["ROLLCAST_PORT": "9000", "ROLLCAST_BAD": "x", "ROLLCAST_ON": "0"])
        #expect(try settings.resolve(8080, env: "ROLLCAST_PORT", default: 8000) == 8080)
        #expect(try settings.resolve(nil as Int?, env: "ROLLCAST_PORT", default: 8000) == 9000)
        #expect(try settings.resolve(nil as Int?, env: "ROLLCAST_NONE", default: 8000) == 8000)
        #expect(throws: SettingError.self) { try settings.resolve(nil as Int?, env: "ROLLCAST_BAD", default: 1) }
        #expect(try settings.resolve(nil as Bool?, env: "ROLLCAST_ON", default: true) == false)
    }
}

@Suite("Mock data")
struct MockDataTests {
    @Test("the same symbol and seed give the same history; another seed another")
    func deterministic() {
        var a = RandomWalk(symbol: "X", seed: 1)
        var b = RandomWalk(symbol: "X", seed: 1)
        var c = RandomWalk(symbol: "X", seed: 2)
        let history = a.history(count: 100, endingAt: 1_000, span: 60)
        #expect(history == b.history(count: 100, endingAt: 1_000, span: 60))
        #expect(history.map(\.price) != c.history(count: 100, endingAt: 1_000, span: 60).map(\.price))
    }

    @Test("history is evenly spread over the span, ends at the given time, prices positive")
    func history() {
        var walk = RandomWalk(symbol: "Y", seed: 3)
        let history = walk.history(count: 4, endingAt: 1_000, span: 60)
        #expect(history.map(\.time) == [955, 970, 985, 1_000])
        #expect(history.allSatisfy { $0.price > 0 })
    }
}
