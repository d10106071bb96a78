import Foundation
import RollcastCore
import Testing

@testable import RollcastProducer

@Suite("Reading and checking a batch")
struct IngestParsingTests {
    /// The producer's clock in these tests: 2026-12-01 09:00:55 UTC.
    static let now = 1_796_131_255.0

    func read(_ json: String, skew: Double = 5) throws(RequestError) -> TickBatch {
        try TickBatch.read(Array(json.utf8), rules: TickRules(maxFutureSkew: skew), now: Self.now)
    }

    @Test("a batch of ticks reads; volume is optional, symbols are trimmed, batch_id is kept")
    func valid() throws {
        let batch = try read(
            #"{"ticks":[{"symbol":" AAPL ","t":1796131250.012,"price":189.25},{"price":410,"volume":3e2,"t":1796131251,"symbol":"MSFT"}],"batch_id":"feed-7"}"#
        )
        #expect(batch.ticks == [
            IncomingTick(symbol: "AAPL", t: 1_796_131_250.012, price: 189.25),
            IncomingTick(symbol: "MSFT", t: 1_796_131_251, price: 410, volume: 300),
        ])
        #expect(batch.batchID == "feed-7")
        #expect(try read(#"  {"batch_id":null, "ticks":[{"symbol":"A\u002Fb","t":1,"price":-0.5}]} "#).ticks[0].symbol == "A/b")
    }

    @Test("every good and bad tick gets its exact answer", arguments: [
        // t in other units than seconds: refused, with the likely unit named.
        (#"{"ticks":[{"symbol":"A","t":1796131255000,"price":1}]}"#,
         "ticks[0].t 1796131255000 is 1.8e12 s in the future; t is Unix seconds, this looks like milliseconds"),
        (#"{"ticks":[{"symbol":"A","t":1796131255000000,"price":1}]}"#,
         "ticks[0].t 1796131255000000 is 1.8e15 s in the future; t is Unix seconds, this looks like microseconds"),
        (#"{"ticks":[{"symbol":"A","t":1796131255000000000,"price":1}]}"#,
         "ticks[0].t 1.796131255e+18 is 1.8e18 s in the future; t is Unix seconds, this looks like nanoseconds"),
        // Far in the future, but no unit explains it.
        (#"{"ticks":[{"symbol":"A","t":253402300799,"price":1}]}"#,
         "ticks[0].t 253402300799 is 2.5e11 s in the future; at most 5 s ahead of the producer's clock is accepted (--max-future-skew)"),
        (#"{"ticks":[{"symbol":"A","t":1e300,"price":1}]}"#,
         "ticks[0].t 1e+300 is 1.0e300 s in the future; at most 5 s ahead of the producer's clock is accepted (--max-future-skew)"),
        (#"{"ticks":[{"symbol":"A","t":1796131255,"price":1},{"symbol":"A","t":1796131262.5,"price":1}]}"#,
         "ticks[1].t 1796131262.5 is 7.5 s in the future; at most 5 s ahead of the producer's clock is accepted (--max-future-skew)"),
        (#"{"ticks":[{"symbol":"A","t":-5,"price":1}]}"#, "ticks[0].t must be Unix seconds, a positive number"),
        (#"{"ticks":[{"symbol":"A","t":1e999,"price":1}]}"#, "ticks[0].t must be Unix seconds, a positive number"),
        (#"{"ticks":[{"symbol":"A","t":1,"price":-1e999}]}"#, "ticks[0].price must be a finite number"),
        (#"{"ticks":[{"symbol":"A","t":1,"price":NaN}]}"#, "'ticks[0].price' must be a finite number; NaN and Infinity are not JSON"),
        (#"{"ticks":[{"symbol":"A","t":1,"price":-Infinity}]}"#, "'ticks[0].price' must be a finite number; NaN and Infinity are not JSON"),
        (#"{"ticks":[{"symbol":"A","t":1,"price":1,"volume":-1}]}"#, "ticks[0].volume must be a number of 0 or more"),
        (#"{"ticks":[{"symbol":"A","t":1,"price":1,"volumne":10}]}"#,
         "ticks[0] has an unknown field 'volumne'; expected symbol, t, price, volume"),
        (#"{"ticks":[{"symbol":"A","t":1,"price":1}],"extra":1}"#, "unknown field 'extra'; expected ticks, batch_id"),
        (#"{"ticks":[]}"#, "ticks must not be empty"),
        (#"{"batch_id":"x"}"#, "missing field 'ticks'"),
        (#"{"ticks":[{"symbol":"A","t":1}]}"#, "missing field 'price' in 'ticks[0]'"),
        (#"{"ticks":[{"symbol":"A","t":1,"price":"high"}]}"#, "'ticks[0].price' must be a number"),
        (#"{"ticks":[{"symbol":"A","t":null,"price":1}]}"#, "'ticks[0].t' must be a number, not null"),
        (#"{"ticks":{"symbol":"A"}}"#, "'ticks' must be a list"),
        (#"{"ticks":[{"symbol":"A","t":1,"price":1},{"symbol":"","t":1,"price":1}]}"#, "ticks[1].symbol must not be empty"),
        (#"{"ticks":[{"symbol":"BAD SYMBOL","t":1,"price":1}]}"#, "ticks[0].symbol 'BAD SYMBOL' may hold only letters, digits and . _ - : /"),
        (#"{"ticks":[{"symbol":"A","symbol":"B","t":1,"price":1}]}"#, "ticks[0].symbol is given twice"),
        (#"{"ticks":[{"symbol":"A","t":1,"price":1}],"batch_id":""}"#, "batch_id must be 1 to 64 characters of printable ASCII, without spaces"),
        (#"{"ticks":[{"symbol":"A","t":1,"price":1}],"batch_id":"a b"}"#, "batch_id must be 1 to 64 characters of printable ASCII, without spaces"),
        ("not json", "body is not valid JSON: expected a JSON object, found 'n' at byte 0"),
        (#"{"ticks":[{"symbol":"A","t":1,"price":1}]"#, "body is not valid JSON: it ends early (expected ',' or '}')"),
        (#"{"ticks":[{"symbol":"A","t":01,"price":1}]}"#, "body is not valid JSON: expected ',' or '}', found '1' at byte 29"),
        (#"{"ticks":[{"symbol":"A","t":1,"price":1}]} {}"#, "body is not valid JSON: unexpected text after the batch, found '{' at byte 43"),
    ])
    func rules(json: String, reason: String) {
        #expect(throws: RequestError.invalid(reason)) { try read(json) }
    }

    @Test("a tick far in the past is not an error: the window counts it as too old")
    func farPast() throws {
        #expect(try read(#"{"ticks":[{"symbol":"A","t":1,"price":1}]}"#).ticks[0].t == 1)
    }

    @Test("at most 10,000 ticks per batch")
    func tooMany() throws {
        let tick = #"{"symbol":"A","t":1,"price":1}"#
        _ = try read(#"{"ticks":[\#(Array(repeating: tick, count: 10_000).joined(separator: ","))]}"#)
        #expect(throws: RequestError.invalid("at most 10000 ticks per batch")) {
            try read(#"{"ticks":[\#(Array(repeating: tick, count: 10_001).joined(separator: ","))]}"#)
        }
    }

    @Test("numbers read back bit for bit, correctly rounded, as Swift's Double(String) reads them")
    func numbersExact() throws {
        var generator = SplitMix64(seed: 3)
        var texts: [String] = ["0", "-0", "0.1", "1e-7", "123456789012345678901234567890", "0.30000000000000004", "1796131255.123", "2.5E+3", "4.9e-324",
                               "1.7976931348623157e308", "9007199254740993", "0.000001234567890123456789"]
        for _ in 0..<2_000 {
            let value = Double(bitPattern: generator.next() & 0x7FEF_FFFF_FFFF_FFFF)
            texts.append("\(value)")
            texts.append(String(format: "%.17g", Double.random(in: 0...1e6, using: &generator)))
            texts.append(String(format: "%.3f", Double.random(in: 1.7e9...1.8e9, using: &generator)))
        }
        for text in texts {
            let json = #"{"ticks":[{"symbol":"A","t":1,"price":\#(text)}]}"#
            let ours = try TickBatch.read(Array(json.utf8), rules: TickRules(), now: .infinity).ticks[0].price
            // Not JSONSerialization: on Linux it misreads some 17-digit numbers (0.30000000000000004
            // comes back as 0.3000000000000001); Double(String) rounds correctly.
            let reference = try #require(Double(text))
            #expect(ours.bitPattern == reference.bitPattern, "\(text): \(ours) vs \(reference)")
        }
    }

    @Test("escapes in strings are resolved; raw control characters are refused")
    func strings() throws {
        #expect(try read(#"{"ticks":[{"symbol":"\u0041\u0042","t":1,"price":1}],"batch_id":"\"q\""}"#).batchID == "\"q\"")
        #expect(throws: RequestError.self) { try read("{\"ticks\":[{\"symbol\":\"A\u{1}\",\"t\":1,\"price\":1}]}") }
        #expect(throws: RequestError.self) { try read(#"{"ticks":[{"symbol":"\ud800","t":1,"price":1}]}"#) }
    }
}
