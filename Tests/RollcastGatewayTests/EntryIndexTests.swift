import RollcastProducer
import Testing

@testable import RollcastGateway

/// The entries a selection takes, found through the index, against testing every entry.
@Suite("Entry index")
struct EntryIndexTests {
    static let symbols = ["A1", "A10", "A2", "AB", "B1", "B.2", "FX:EUR", "FX:GBP", "FX/X", "Z", "a1", "A", "FXA"]
    static let entries = ["A1", "A*", "AB", "B*", "FX:*", "FX*", "Z", "NOPE", "a*", "*", "A"]

    @Test("random selections, chosen and allowed, with exact symbols a prefix also takes: the same entries, in the entries' order, once each")
    func sameAsTestingEvery() throws {
        var random = SplitMix64(seed: 21)
        // Entries in an order of their own: the index must not rely on them being sorted.
        let symbols = Self.symbols.shuffled(using: &random)
        let index = EntryIndex(symbols: symbols)
        for _ in 0..<500 {
            func selection() throws -> SymbolSelection? {
                guard random.next() % 4 != 0 else { return nil }
                let count = Int(random.next() % 4) + 1
                return try SymbolSelection.parse((0..<count).map { _ in Self.entries[Int(random.next() % UInt64(Self.entries.count))] }.joined(separator: ","))
            }
            guard let filter = ChartFilter.of(chosen: try selection(), allowed: try selection()) else { continue }
            let expected = symbols.indices.filter { filter.matches(symbols[$0]) }
            #expect(index.positions(filter) == expected, "\(filter)")
        }
    }
}
