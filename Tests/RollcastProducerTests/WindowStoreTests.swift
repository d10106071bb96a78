import RollcastCore
import Testing

@testable import RollcastProducer

/// A store on a clock the test moves.
func makeStore(
    window: Double = 60, maxSymbols: Int = 10, maxPoints: Int = 0, maxTicks: Int = 100_000, forgetAfter: Double = 60, now: Double = 100
) -> (WindowStore, ProducerClock) {
    let clock = ProducerClock(.replay, start: now)
    let limits = WindowStore.Limits(
        windowSeconds: window, maxSymbols: maxSymbols, maxPoints: maxPoints, maxTicksPerWindow: maxTicks, forgetEmptyAfter: forgetAfter
    )
    return (WindowStore(limits: limits, clock: clock, runID: "run"), clock)
}

@Suite("Window store")
struct WindowStoreTests {
    @Test("snapshots list symbols alphabetically, trim by the clock and raise seq by one")
    func snapshots() throws {
        let (store, clock) = makeStore(window: 10)
        _ = try store.replace([("B", [Tick(time: 95, price: 1), Tick(time: 99, price: 2)]), ("A", [Tick(time: 100, price: 3)])])
        clock.set(106)
        let first = store.takeSnapshot()
        #expect(first.seq == 1)
        #expect(first.series.map(\.symbol) == ["A", "B"])
        #expect(first.series[1].ticks.map(\.time) == [99])
        #expect(store.takeSnapshot().seq == 2)
    }

    @Test("a write is visible from the seq it returns")
    func visibleFrom() throws {
        let (store, _) = makeStore()
        _ = store.takeSnapshot()
        let visible = try store.replace([("A", [Tick(time: 99, price: 1)])])
        let next = store.takeSnapshot()
        #expect(next.seq == visible)
        #expect(next.series.map(\.symbol) == ["A"])
    }

    @Test("ticks for unknown symbols are ignored; many symbols stay separate")
    func manySymbols() throws {
        let (store, _) = makeStore(maxSymbols: 1_000)
        let symbols = (0..<1_000).map { "S\($0)" }
        _ = try store.replace(symbols.map { ($0, []) })
        store.append(symbols.enumerated().map { ($0.element, Tick(time: 99, price: Double($0.offset))) })
        store.append([("UNKNOWN", Tick(time: 99, price: 1))])
        let snapshot = store.takeSnapshot()
        #expect(snapshot.series.count == 1_000)
        #expect(snapshot.series.allSatisfy { $0.ticks.count == 1 && $0.ticks[0].price == Double(symbols.firstIndex(of: $0.symbol)!) })
    }

    @Test("loads past the symbol limit are refused and change nothing")
    func symbolLimit() throws {
        let (store, _) = makeStore(maxSymbols: 2)
        _ = try store.replace([("A", []), ("B", [])])
        #expect(throws: RequestError.self) { try store.replace([("C", [])]) }
        _ = try store.replace([("A", [Tick(time: 99, price: 1)])])  // replacing a held symbol is fine
        #expect(store.summary().symbols == ["A", "B"])
    }

    @Test("snapshots are reduced to maxPoints and report the window's raw count")
    func downsampled() throws {
        let (store, _) = makeStore(window: 10_000, maxPoints: 100, now: 5_000)
        _ = try store.replace([("D", (0..<5_000).map { Tick(time: Double($0), price: Double($0 % 97)) })])
        let series = store.takeSnapshot().series[0]
        #expect(series.ticks.count <= 100)
        #expect(series.rawCount == 5_000)
        #expect(store.summary().points == 5_000, "the window itself keeps every tick")
    }
}

@Suite("Snapshot size")
struct SnapshotSizeTests {
    @Test("with many symbols each chart gets its share of the snapshot limit, never under 5 points")
    func share() {
        var limits = WindowStore.Limits(windowSeconds: 60, maxSymbols: 1_000, maxPoints: 1_000, maxSnapshotPoints: 250_000)
        #expect(limits.pointsPerChart(charts: 5) == 1_000)
        #expect(limits.pointsPerChart(charts: 1_000) == 250)
        #expect(limits.pointsPerChart(charts: 100_000) == 5)
        limits.maxPoints = 0
        #expect(limits.pointsPerChart(charts: 10) == 25_000)
        limits.maxSnapshotPoints = 0
        #expect(limits.pointsPerChart(charts: 1_000) == 0, "both off: every point")
    }

    @Test("a snapshot of 100 charts of 1,000 ticks under a 10,000-point limit sends at most 100 a chart")
    func snapshot() throws {
        let clock = ProducerClock(.replay, start: 2_000)
        let store = WindowStore(limits: .init(windowSeconds: 5_000, maxSymbols: 100, maxPoints: 1_000, maxSnapshotPoints: 10_000), clock: clock)
        _ = try store.replace((0..<100).map { symbol in ("S\(symbol)", (0..<1_000).map { Tick(time: Double($0), price: Double(($0 * 7 + symbol) % 13)) }) })
        let series = store.takeSnapshot().series
        #expect(series.count == 100)
        #expect(series.allSatisfy { $0.ticks.count <= 100 && $0.rawCount == 1_000 })
        #expect(series.reduce(0) { $0 + $1.ticks.count } <= 10_000)
    }
}

@Suite("Ingest into the window store")
struct IngestStoreTests {
    @Test("ticks are appended, merged, inserted or dropped as the window says, and new symbols are created")
    func outcomes() throws {
        let (store, clock) = makeStore(now: 110)
        let first = try store.ingest([IncomingTick(symbol: "R", t: 100, price: 1), .init(symbol: "R", t: 110, price: 2), .init(symbol: "Q", t: 105, price: 9)])
        #expect(first == IngestResult(appended: 3, newSymbols: ["Q", "R"], visibleFromSeq: 1))
        let second = try store.ingest([
            IncomingTick(symbol: "R", t: 110, price: 3, volume: 5),  // same time: merged
            .init(symbol: "R", t: 105, price: 4),  // late: inserted
            .init(symbol: "R", t: 10, price: 5),  // older than the window: dropped
        ])
        #expect(second == IngestResult(merged: 1, inserted: 1, tooOld: 1, visibleFromSeq: 1))
        clock.set(111)
        let series = store.takeSnapshot().series
        #expect(series.map(\.symbol) == ["Q", "R"])
        #expect(series[1].ticks.map(\.price) == [1, 4, 3])
        #expect(store.summary().totals.tooOld == 1)
    }

    @Test("a batch that would pass the symbol limit is refused whole")
    func limit() throws {
        let (store, _) = makeStore(maxSymbols: 1)
        #expect(throws: RequestError.self) {
            try store.ingest([IncomingTick(symbol: "A", t: 99, price: 1), .init(symbol: "B", t: 99, price: 1)])
        }
        #expect(store.summary().symbols.isEmpty)
    }

    @Test("the per-window cap drops the oldest ticks and counts them")
    func cap() throws {
        let (store, _) = makeStore(maxTicks: 10)
        _ = try store.ingest((0..<25).map { IncomingTick(symbol: "C", t: 70 + Double($0), price: 1) })
        #expect(store.summary().points == 10)
        #expect(store.summary().totals.droppedByCap == 15)
        #expect(store.takeSnapshot().series[0].ticks.first?.time == 85)
    }

    @Test("a window empty for forgetEmptyAfter frees its symbol slot; mock symbols are never forgotten")
    func forgetEmpty() throws {
        let (store, clock) = makeStore(window: 10, maxSymbols: 2, forgetAfter: 30)
        _ = try store.replace([("MOCK", [])])
        _ = try store.ingest([IncomingTick(symbol: "JUNK", t: 99, price: 1)])
        #expect(throws: RequestError.self) { try store.ingest([IncomingTick(symbol: "REAL", t: 99, price: 1)]) }
        for time in [105.0, 110, 125, 139] {
            clock.set(time)
            #expect(store.takeSnapshot().series.map(\.symbol) == ["JUNK", "MOCK"], "at \(time)")
        }
        clock.set(140)  // JUNK emptied at 110 (its tick was at 99): 30 s later it is forgotten
        #expect(store.takeSnapshot().series.map(\.symbol) == ["MOCK"])
        #expect(store.summary().symbolsReleased == 1)
        #expect(try store.ingest([IncomingTick(symbol: "REAL", t: 139, price: 1)]).newSymbols == ["REAL"])
    }
}
