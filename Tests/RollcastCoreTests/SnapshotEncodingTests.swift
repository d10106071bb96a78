import Foundation
import RollcastCore
import Testing

@Suite("Snapshot encoding")
struct SnapshotEncodingTests {
    let header = SnapshotHeader(seq: 7, runID: "abc12345", generatedAt: 1_764_000_000_123, intervalMilliseconds: 2000, charts: 2)
    let series = [
        SeriesSnapshot(symbol: "AAPL", ticks: [Tick(time: 1_764_000_000.5, price: 189.25, volume: 300), Tick(time: 1_764_000_001.25, price: 0.1 + 0.2)]),
        SeriesSnapshot(symbol: "EMPTY", ticks: []),
    ]

    func encoded() throws -> [UInt8] {
        try SnapshotEncoder().encode(series, header: header, windowSeconds: 300)
    }

    @Test("round trip through a JSON decoder gives back every field and number exactly")
    func roundTrip() throws {
        let charts = try JSONDecoder().decode([ChartObject].self, from: Data(try encoded()))
        #expect(charts.count == 2)
        #expect(charts[0] == ChartObject(
            symbol: "AAPL", seq: 7, runID: "abc12345", generatedAt: 1_764_000_000_123, windowSeconds: 300,
            intervalMilliseconds: 2000, t: [1_764_000_000.5, 1_764_000_001.25], price: [189.25, 0.1 + 0.2], volume: [300, 0]
        ))
        #expect(charts[1].t.isEmpty && charts[1].price.isEmpty && charts[1].volume.isEmpty)
    }

    @Test("field names and JSON types are the documented ones")
    func fieldNamesAndTypes() throws {
        let array = try #require(try JSONSerialization.jsonObject(with: Data(try encoded())) as? [[String: Any]])
        let chart = array[0]
        #expect(Set(chart.keys) == ["symbol", "seq", "run_id", "generated_at", "window_s", "interval_ms", "t", "price", "volume"])
        #expect(chart["symbol"] is String)
        #expect(chart["run_id"] is String)
        for key in ["seq", "generated_at", "interval_ms"] {
            let number = try #require(chart[key] as? NSNumber, "\(key) is a number")
            #expect(number.doubleValue == number.doubleValue.rounded(), "\(key) is a whole number")
        }
        #expect(chart["window_s"] is NSNumber)
        for key in ["t", "price", "volume"] {
            let values = try #require(chart[key] as? [NSNumber], "\(key) is an array of numbers")
            #expect(values.count == 2)
        }
    }

    @Test("the same input encodes to the same bytes")
    func deterministic() throws {
        #expect(try encoded() == encoded())
    }
}

@Suite("JSON array splitting (NDJSON)")
struct JSONArraySplitterTests {
    func split(_ text: String) throws -> [String] {
        let bytes = Array(text.utf8)
        return try JSONArraySplitter.elementRanges(in: bytes).map { String(decoding: bytes[$0], as: UTF8.self) }
    }

    @Test("objects, nesting and strings holding brackets, commas and escapes")
    func tricky() throws {
        let elements = try split(#" [ {"a":[1,2],"s":"x,]}\"["} , {"b":{"c":[]}} ,3, "q\\" ] "#)
        #expect(elements == [#"{"a":[1,2],"s":"x,]}\"["}"#, #"{"b":{"c":[]}}"#, "3", #""q\\""#])
    }

    @Test("an empty array has no elements")
    func empty() throws {
        #expect(try split("[]") == [])
        #expect(try split(" [ ] ") == [])
    }

    @Test("an encoded snapshot splits into one decodable chart object per element")
    func snapshot() throws {
        let header = SnapshotHeader(seq: 1, runID: "r", generatedAt: 1, intervalMilliseconds: 1000, charts: 2)
        let bytes = try SnapshotEncoder().encode(
            [SeriesSnapshot(symbol: "A", ticks: [Tick(time: 1, price: 2)]), SeriesSnapshot(symbol: "B", ticks: [])],
            header: header, windowSeconds: 60
        )
        let ranges = try JSONArraySplitter.elementRanges(in: bytes)
        let symbols = try ranges.map { try JSONDecoder().decode(ChartObject.self, from: Data(bytes[$0])).symbol }
        #expect(symbols == ["A", "B"])
    }

    @Test("non-arrays and truncated input are errors")
    func invalid() {
        #expect(throws: JSONArraySplitter.SplitError.notAnArray) { try split(#"{"a":1}"#) }
        #expect(throws: JSONArraySplitter.SplitError.unterminated) { try split(#"[{"a":1}"#) }
    }
}
