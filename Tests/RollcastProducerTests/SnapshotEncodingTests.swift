import Foundation
import Testing

import RollcastCore

@testable import RollcastProducer

@Suite("Snapshot encoding")
struct SnapshotEncodingTests {
    let header = SnapshotHeader(seq: 7, runID: "abc12345", generatedAt: 1_764_000_000_123, intervalMilliseconds: 2000, charts: 2)
    let series = [
        SeriesSnapshot(symbol: "AAPL", ticks: [Tick(time: 1_764_000_000.5, price: 189.25, volume: 300), Tick(time: 1_764_000_001.25, price: 0.1 + 0.2)]),
        SeriesSnapshot(symbol: "EMPTY", ticks: []),
    ]

    func encoded() throws -> [UInt8] {
        SnapshotEncoder().encode(series, header: header, windowSeconds: 300)
    }

    @Test("round trip through a JSON decoder gives back every field and number exactly")
    func roundTrip() throws {
        let charts = try JSONDecoder().decode([ChartObject].self, from: Data(try encoded()))
        #expect(charts.count == 2)
        #expect(charts[0] == ChartObject(
            symbol: "AAPL", seq: 7, runID: "abc12345", generatedAt: 1_764_000_000_123, windowSeconds: 300,
            intervalMilliseconds: 2000, rawPoints: 2, t: [1_764_000_000.5, 1_764_000_001.25], price: [189.25, 0.1 + 0.2], volume: [300, 0]
        ))
        #expect(charts[1].t.isEmpty && charts[1].price.isEmpty && charts[1].volume.isEmpty)
    }

    @Test("field names and JSON types are the documented ones")
    func fieldNamesAndTypes() throws {
        let array = try #require(try JSONSerialization.jsonObject(with: Data(try encoded())) as? [[String: Any]])
        let chart = array[0]
        #expect(Set(chart.keys) == ["symbol", "seq", "run_id", "generated_at", "window_s", "interval_ms", "raw_points", "t", "price", "volume"])
        #expect(chart["symbol"] is String)
        #expect(chart["run_id"] is String)
        for key in ["seq", "generated_at", "interval_ms", "raw_points"] {
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

    @Test("the direct writer and Foundation's JSONEncoder decode to the same charts")
    func matchesFoundation() throws {
        var generator = SplitMix64(seed: 11)
        let ticks = (0..<2_000).map { index in
            Tick(time: 1_764_000_000 + Double(index) * 0.137, price: Double.random(in: -1e6...1e6, using: &generator), volume: Double(index))
        }
        let series = [SeriesSnapshot(symbol: #"Q"U\O/TE"#, ticks: ticks, rawCount: 5_000)]
        let direct = SnapshotEncoder().encode(series, header: header, windowSeconds: 0.5)
        let reference = try SnapshotEncoder().encodeWithFoundation(series, header: header, windowSeconds: 0.5)
        let a = try JSONDecoder().decode([ChartObject].self, from: Data(direct))
        let b = try JSONDecoder().decode([ChartObject].self, from: Data(reference))
        #expect(a == b)
        #expect(a[0].symbol == #"Q"U\O/TE"#)
        #expect(a[0].rawPoints == 5_000)
    }
}

@Suite("JSON number writer")
struct JSONNumberWriterTests {
    func text(_ value: Double) -> String {
        var out: [UInt8] = []
        JSONNumberWriter.write(value, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    @Test("prices, times and whole numbers are written short", arguments: [
        (0.0, "0"), (-0.0, "-0"), (300, "300"), (0.5, "0.5"), (-5.25, "-5.25"), (189.1, "189.1"), (0.01, "0.01"),
        (1_795_755_511.012, "1795755511.012"), (1_795_755_511.1, "1795755511.1"), (100_000_000, "100000000"),
    ])
    func short(value: Double, expected: String) {
        #expect(text(value) == expected)
    }

    @Test("other values fall back to the shortest round-trip form; non-finite values become null")
    func fallback() {
        #expect(text(0.1 + 0.2) == "0.30000000000000004")
        #expect(text(1e-7) == "0.0000001")
        #expect(text(1e-9) == "1e-09")
        #expect(text(1e21) == "1e+21")
        #expect(text(.nan) == "null")
        #expect(text(.infinity) == "null")
    }

    @Test("a million random doubles read back exactly")
    func roundTrip() throws {
        var generator = SplitMix64(seed: 5)
        var values: [Double] = []
        for _ in 0..<1_000_000 {
            switch UInt8.random(in: 0...3, using: &generator) {
            case 0: values.append(Double(bitPattern: generator.next() & 0x7FEF_FFFF_FFFF_FFFF))  // any finite magnitude
            case 1: values.append((Double.random(in: 0...100_000, using: &generator) * 100).rounded() / 100)  // cents
            case 2: values.append((Double.random(in: 1.7e9...1.8e9, using: &generator) * 1000).rounded() / 1000)  // ms times
            default: values.append(Double.random(in: -1...1, using: &generator))
            }
        }
        var out: [UInt8] = [UInt8(ascii: "[")]
        for (index, value) in values.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            JSONNumberWriter.write(value, to: &out)
        }
        out.append(UInt8(ascii: "]"))
        let decoded = try JSONDecoder().decode([Double].self, from: Data(out))
        #expect(decoded.count == values.count)
        #expect(zip(decoded, values).allSatisfy { $0.bitPattern == $1.bitPattern || ($0 == 0 && $1 == 0) })
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
        let bytes = SnapshotEncoder().encode(
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
