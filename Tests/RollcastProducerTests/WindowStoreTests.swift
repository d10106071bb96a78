import RollcastCore
import Testing

@testable import RollcastProducer

@Suite("Window store")
struct WindowStoreTests {
    @Test("snapshots list symbols alphabetically, evict by the clock and raise seq by one")
    func snapshots() throws {
        let store = WindowStore(windowSeconds: 10, maxSymbols: 10, runID: "run")
        _ = try store.replace([("B", [Tick(time: 95, price: 1), Tick(time: 99, price: 2)]), ("A", [Tick(time: 100, price: 3)])])
        let first = store.takeSnapshot(now: 106)
        #expect(first.seq == 1)
        #expect(first.series.map(\.symbol) == ["A", "B"])
        #expect(first.series[1].ticks.map(\.time) == [99])
        #expect(store.takeSnapshot(now: 106).seq == 2)
    }

    @Test("a write is visible from the seq it returns")
    func visibleFrom() throws {
        let store = WindowStore(windowSeconds: 10, maxSymbols: 10)
        _ = store.takeSnapshot(now: 0)
        let visible = try store.replace([("A", [Tick(time: 1, price: 1)])])
        let next = store.takeSnapshot(now: 2)
        #expect(next.seq == visible)
        #expect(next.series.map(\.symbol) == ["A"])
    }

    @Test("ticks for unknown symbols are ignored; many symbols stay separate")
    func manySymbols() throws {
        let store = WindowStore(windowSeconds: 60, maxSymbols: 1_000)
        let symbols = (0..<1_000).map { "S\($0)" }
        _ = try store.replace(symbols.map { ($0, []) })
        store.append(symbols.enumerated().map { ($0.element, Tick(time: 1, price: Double($0.offset))) })
        store.append([("UNKNOWN", Tick(time: 1, price: 1))])
        let snapshot = store.takeSnapshot(now: 2)
        #expect(snapshot.series.count == 1_000)
        #expect(snapshot.series.allSatisfy { $0.ticks.count == 1 && $0.ticks[0].price == Double(symbols.firstIndex(of: $0.symbol)!) })
    }

    @Test("loads past the symbol limit are refused and change nothing")
    func symbolLimit() throws {
        let store = WindowStore(windowSeconds: 60, maxSymbols: 2)
        _ = try store.replace([("A", []), ("B", [])])
        #expect(throws: RequestError.self) { try store.replace([("C", [])]) }
        _ = try store.replace([("A", [Tick(time: 1, price: 1)])])  // replacing a held symbol is fine
        #expect(store.summary().symbols == ["A", "B"])
    }

    @Test("snapshots are reduced to maxPoints and report the window's raw count")
    func downsampled() throws {
        let store = WindowStore(windowSeconds: 10_000, maxSymbols: 10, maxPoints: 100)
        _ = try store.replace([("D", (0..<5_000).map { Tick(time: Double($0), price: Double($0 % 97)) })])
        let series = store.takeSnapshot(now: 5_000).series[0]
        #expect(series.ticks.count <= 100)
        #expect(series.rawCount == 5_000)
        #expect(store.summary().points == 5_000, "the window itself keeps every tick")
    }
}

@Suite("Ingest into the window store")
struct IngestStoreTests {
    @Test("ticks are appended, merged, inserted or dropped as the window says, and new symbols are created")
    func outcomes() throws {
        let store = WindowStore(windowSeconds: 60, maxSymbols: 10)
        let first = try store.ingest(IngestTicks(ticks: [
            .init(symbol: "R", t: 100, price: 1), .init(symbol: "R", t: 110, price: 2), .init(symbol: "Q", t: 105, price: 9),
        ]))
        #expect(first == IngestResult(appended: 3, newSymbols: ["Q", "R"], visibleFromSeq: 1))
        let second = try store.ingest(IngestTicks(ticks: [
            .init(symbol: "R", t: 110, price: 3, volume: 5),  // same time: merged
            .init(symbol: "R", t: 105, price: 4),  // late: inserted
            .init(symbol: "R", t: 10, price: 5),  // older than the window: dropped
        ]))
        #expect(second == IngestResult(merged: 1, inserted: 1, tooOld: 1, visibleFromSeq: 1))
        let series = store.takeSnapshot(now: 111).series
        #expect(series.map(\.symbol) == ["Q", "R"])
        #expect(series[1].ticks.map(\.price) == [1, 4, 3])
    }

    @Test("a batch that would pass the symbol limit is refused whole")
    func limit() throws {
        let store = WindowStore(windowSeconds: 60, maxSymbols: 1)
        #expect(throws: RequestError.self) {
            try store.ingest(IngestTicks(ticks: [.init(symbol: "A", t: 1, price: 1), .init(symbol: "B", t: 1, price: 1)]))
        }
        #expect(store.summary().symbols.isEmpty)
    }
}
