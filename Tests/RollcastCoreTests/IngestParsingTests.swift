import Foundation
import RollcastCore
import Testing

@Suite("Ingest parsing")
struct IngestParsingTests {
    func parse(_ json: String) throws -> IngestTicks {
        try JSONDecoder().decode(IngestTicks.self, from: Data(json.utf8)).validated()
    }

    @Test("a batch of ticks parses; volume is optional and symbols are trimmed")
    func valid() throws {
        let batch = try parse(#"{"ticks":[{"symbol":" AAPL ","t":1795755511.012,"price":189.25},{"symbol":"MSFT","t":1795755512,"price":410,"volume":300}]}"#)
        #expect(batch.ticks == [
            .init(symbol: "AAPL", t: 1_795_755_511.012, price: 189.25),
            .init(symbol: "MSFT", t: 1_795_755_512, price: 410, volume: 300),
        ])
    }

    @Test("bad batches are refused with a reason naming the tick", arguments: [
        (#"{"ticks":[]}"#, "ticks must not be empty"),
        (#"{"ticks":[{"symbol":"A","t":1,"price":1}],"extra":1}"#, "unknown field 'extra'; expected ticks"),
        (#"{"ticks":[{"symbol":"A","t":1,"price":1},{"symbol":"","t":1,"price":1}]}"#, "ticks[1]: symbol must not be empty"),
        (#"{"ticks":[{"symbol":"A","t":-5,"price":1}]}"#, "ticks[0]: t must be Unix seconds, a positive number"),
        (#"{"ticks":[{"symbol":"A","t":1,"price":1,"volume":-1}]}"#, "ticks[0]: volume must be a number of 0 or more"),
        (#"{"ticks":[{"symbol":"A","t":1}]}"#, "missing field 'price' in 'ticks[0]'"),
        (#"{"ticks":[{"symbol":"A","t":1,"price":"high"}]}"#, "'ticks[0].price' must be a number"),
    ])
    func invalid(json: String, reason: String) {
        do {
            _ = try parse(json)
            Issue.record("\(json) was accepted")
        } catch {
            #expect(DecodingErrorReason.describe(error) == reason)
        }
    }
}
