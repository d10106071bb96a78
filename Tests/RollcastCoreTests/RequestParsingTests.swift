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
        (#"{"symbols":["A","B","C","D","E","F","G","H","I","J","K"],"points":100000}"#,
         "symbols × points is 11 × 100000 = 1100000, over the budget of 1000000 points per request"),
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

    @Test("control requests survive a round trip; an ingest batch travels as its own part, untouched")
    func controlRoundTrip() throws {
        let batch = Array(#"{"ticks":[{"symbol":"A","t":1.5,"price":2}]}"#.utf8)
        for request in [ControlRequest.status, .publish, .loadMockData(LoadMockData(symbols: ["Z"], points: 1, seed: 2)), .ingest(batch: batch)] {
            #expect(try ControlRequest(parts: request.parts()) == request)
        }
        #expect(try ControlRequest.ingest(batch: batch).parts()[1] == batch)
    }

    @Test("malformed control messages are refused with a reason", arguments: [
        ([#"{"command":"reboot"}"#], "malformed command: unknown command 'reboot'; expected load_mock_data, ingest, publish, status or metrics"),
        (["not json"], "malformed command: body is not valid JSON"),
        ([#"{"command":"status"}"#, "{}"], "status is one message part, not 2"),
        ([#"{"command":"ingest"}"#], "ingest is two message parts: the command, then the batch, not 1"),
        (["{}", "{}", "{}"], "a command is one message part (two for ingest), not 3"),
    ])
    func controlErrors(parts: [String], reason: String) {
        #expect(throws: RequestError.invalid(reason)) { try ControlRequest(parts: parts.map { Array($0.utf8) }) }
    }

    @Test("settings resolve as flag, then environment, then default; the help names the variable and the default")
    func settings() throws {
        let settings = SettingResolver(environment: [
            "ROLLCAST_PORT": "9000", "ROLLCAST_BAD": "x", "ROLLCAST_ON": "0", "ROLLCAST_LIST": "a, b,,c", "ROLLCAST_PATH": "/x",
        ])
        let port = Setting(env: "ROLLCAST_PORT", default: 8000, help: "Port.")
        #expect(try settings.resolve(8080, port) == 8080)
        #expect(try settings.resolve(nil, port) == 9000)
        #expect(try settings.resolve(nil, Setting(env: "ROLLCAST_NONE", default: 8000, help: "")) == 8000)
        #expect(throws: SettingError.self) { try settings.resolve(nil, Setting(env: "ROLLCAST_BAD", default: 1, help: "")) }
        let on = Setting(env: "ROLLCAST_ON", default: true, help: "Switch.")
        #expect(try settings.resolve(nil, on) == false)
        #expect(try settings.resolve(true, on) == true)
        #expect(throws: SettingError.self) { try settings.resolve(false, Setting(env: "ROLLCAST_BAD", default: false, help: "")) }
        let list = ListSetting(env: "ROLLCAST_LIST", help: "Things.")
        #expect(settings.resolve([], list) == ["a", "b", "c"])
        #expect(settings.resolve(["z"], list) == ["z"])
        #expect(settings.resolve(nil, OptionalSetting(env: "ROLLCAST_PATH", help: "")) == "/x")
        #expect(settings.resolve(nil, OptionalSetting(env: "ROLLCAST_NONE", help: "")) == nil)
        #expect(port.helpText == "Port. (ROLLCAST_PORT; default 8000)")
        #expect(Setting(env: "ROLLCAST_T", default: 2.0, help: "Seconds.").helpText == "Seconds. (ROLLCAST_T; default 2)")
        #expect(on.helpText == "Switch. (ROLLCAST_ON=0 turns it off; default on)")
        #expect(Setting(env: "ROLLCAST_OFF", default: false, help: "Switch.").helpText == "Switch. (ROLLCAST_OFF=1; default off)")
        #expect(list.helpText == "Things. (ROLLCAST_LIST, comma-separated)")
        #expect(OptionalSetting(env: "ROLLCAST_E", default: "ipc://<run dir>/x.sock", help: "E.").helpText == "E. (ROLLCAST_E; default ipc://<run dir>/x.sock)")
    }
}
