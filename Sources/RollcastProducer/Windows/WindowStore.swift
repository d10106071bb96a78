import Foundation
import RollcastCore
import Synchronization

/// The rolling windows of every symbol, and the snapshot sequence that reads them.
///
/// Ticks come from the mock feed, the ingest paths and control commands on their own
/// threads; the publisher reads a consistent copy once per interval. One lock guards both,
/// so a snapshot with a higher `seq` than a write's result always contains that write.
/// Every window is trimmed against the producer's ``ProducerClock``.
final class WindowStore: Sendable {
    struct Limits: Sendable {
        var windowSeconds: Double
        /// Most symbols held; batches and loads that would pass it are refused.
        var maxSymbols: Int
        /// Most points per series in a snapshot (0 = all); see ``Downsampler``.
        var maxPoints: Int = 0
        /// Most points in a whole snapshot (0 = no limit): with many symbols each chart gets its
        /// share, so a snapshot stays a size a browser takes every interval.
        var maxSnapshotPoints: Int = 0
        /// Most ticks per window; past it the oldest go first.
        var maxTicksPerWindow: Int = 100_000
        /// Seconds (on the producer's clock) a window may stay empty before its symbol is forgotten.
        var forgetEmptyAfter: Double = 60
    }

    private struct Slot {
        var window: RollingWindow
        /// When the window was last seen empty, if it is.
        var emptySince: Double?
        /// Mock symbols tick by themselves and are never forgotten.
        var pinned = false
    }

    private struct State {
        var slots: [String: Slot] = [:]
        var seq: UInt64 = 0
    }

    let runID: String
    let limits: Limits
    let clock: ProducerClock
    /// Where the windows' counts (too old, dropped by the cap…) are kept.
    let metrics: ProducerMetrics
    private let state = Mutex(State())

    var windowSeconds: Double { limits.windowSeconds }

    init(limits: Limits, clock: ProducerClock = ProducerClock(.wall), runID: String = WindowStore.makeRunID(), metrics: ProducerMetrics = ProducerMetrics()) {
        self.limits = limits
        self.metrics = metrics
        self.clock = clock
        self.runID = runID
    }

    /// Adds a round of mock ticks to symbols the store holds; unknown symbols are ignored.
    func append(_ ticks: [(symbol: String, tick: Tick)]) {
        let now = clock.now()
        state.withLock { state in
            for (symbol, tick) in ticks {
                guard state.slots[symbol] != nil else { continue }
                metrics.record(state.slots[symbol]!.window.add(CollectionOfOne(tick), now: now))
                state.slots[symbol]!.emptySince = nil
            }
        }
    }

    /// Replaces (or creates) the windows of mock symbols with their histories; they are pinned.
    /// - Returns: the first snapshot `seq` that will contain the new data.
    /// - Throws: ``RequestError`` when the symbols would pass the symbol limit.
    func replace(_ histories: [(symbol: String, ticks: [Tick])]) throws(RequestError) -> UInt64 {
        let now = clock.now()
        return try state.withLock { state throws(RequestError) in
            let added = Set(histories.map(\.symbol)).subtracting(state.slots.keys).count
            try Self.checkRoom(for: added, in: state, limit: limits.maxSymbols)
            for (symbol, ticks) in histories {
                var window = newWindow()
                metrics.record(window.replace(with: ticks, now: now))
                state.slots[symbol] = Slot(window: window, pinned: true)
            }
            return state.seq + 1
        }
    }

    /// Adds a checked batch of real ticks, creating windows for symbols not held yet.
    ///
    /// With `persist`, the applied batch (its ticks by symbol, and the result) is handed to it
    /// before the lock is released: no snapshot can show the batch before `persist` returns,
    /// and batches reach `persist` in the order they were applied.
    /// - Returns: what happened to the ticks, and the first `seq` that contains them.
    /// - Throws: ``RequestError`` (and changes nothing) when new symbols would pass the limit;
    ///   whatever `persist` throws, after the batch was applied in memory.
    func ingest(
        _ ticks: [IncomingTick], persist: ((TickChunk, IngestResult) throws(RequestError) -> Void)? = nil
    ) throws(RequestError) -> IngestResult {
        // Grouped by symbol, in arrival order within each.
        var bySymbol: [String: [Tick]] = [:]
        for tick in ticks {
            bySymbol[tick.symbol, default: []].append(Tick(time: tick.t, price: tick.price, volume: tick.volume))
        }
        let now = clock.now()
        return try state.withLock { state throws(RequestError) in
            let newSymbols = bySymbol.keys.filter { state.slots[$0] == nil }.sorted()
            try Self.checkRoom(for: newSymbols.count, in: state, limit: limits.maxSymbols)
            var counts = RollingWindow.Counts()
            for (symbol, ticks) in bySymbol {
                if state.slots[symbol] == nil { state.slots[symbol] = Slot(window: newWindow()) }
                counts += state.slots[symbol]!.window.add(ticks, now: now)
                if !state.slots[symbol]!.window.isEmpty { state.slots[symbol]!.emptySince = nil }
            }
            metrics.record(counts)
            let result = IngestResult(
                appended: counts.appended, merged: counts.merged, inserted: counts.inserted, tooOld: counts.tooOld,
                newSymbols: newSymbols, visibleFromSeq: state.seq + 1
            )
            try persist?(TickChunk(groups: bySymbol.map { ($0.key, $0.value) }), result)
            return result
        }
    }

    /// Rebuilds windows from the journal at start: each symbol's ticks in the order they were
    /// applied, as ``ingest(_:persist:)`` would apply them, without the symbol limit or counters.
    func restore(_ bySymbol: [String: [Tick]]) {
        let now = clock.now()
        state.withLock { state in
            for (symbol, ticks) in bySymbol {
                if state.slots[symbol] == nil { state.slots[symbol] = Slot(window: newWindow()) }
                _ = state.slots[symbol]!.window.add(ticks, now: now)
            }
        }
    }

    /// Copies the windows of `symbols` and, under the same lock, calls `alongside` (which reads
    /// the journal's position): a copy that matches the journal exactly up to that position.
    func copyWindows<T>(of symbols: Set<String>, alongside: () -> T) -> (windows: [(symbol: String, ticks: [Tick])], mark: T, ticks: Int) {
        state.withLock { state in
            var windows: [(symbol: String, ticks: [Tick])] = []
            var total = 0
            for symbol in symbols {
                guard let window = state.slots[symbol]?.window else { continue }
                windows.append((symbol, Array(window.ticks)))
                total += window.count
            }
            return (windows, alongside(), total)
        }
    }

    /// Empties every window (a replay starting its file again); the symbols stay.
    func clearWindows() {
        state.withLock { state in
            for symbol in state.slots.keys { state.slots[symbol]!.window.replace(with: [], now: 0) }
        }
    }

    /// The `seq` of the next snapshot.
    var nextSeq: UInt64 { state.withLock { $0.seq + 1 } }

    /// Trims every window against the clock, forgets symbols whose window stayed empty for
    /// ``Limits/forgetEmptyAfter``, and copies every series by symbol name, reduced to
    /// ``Limits/maxPoints``: the one copy a snapshot makes of each window.
    func takeSnapshot() -> (seq: UInt64, series: [SeriesSnapshot]) {
        let now = clock.now()
        return state.withLock { state in
            state.seq += 1
            var series: [SeriesSnapshot] = []
            series.reserveCapacity(state.slots.count)
            let perChart = limits.pointsPerChart(charts: state.slots.count)
            for symbol in state.slots.keys.sorted() {
                state.slots[symbol]!.window.trim(now: now)
                let slot = state.slots[symbol]!
                if slot.window.isEmpty, !slot.pinned {
                    guard let since = slot.emptySince else {
                        state.slots[symbol]!.emptySince = now
                        series.append(SeriesSnapshot(symbol: symbol, ticks: []))
                        continue
                    }
                    if now - since >= limits.forgetEmptyAfter {
                        state.slots[symbol] = nil
                        metrics.symbolsReleased.increment()
                        continue
                    }
                }
                let ticks = slot.window.ticks
                series.append(SeriesSnapshot(symbol: symbol, ticks: Downsampler.minMax(ticks, maxPoints: perChart, span: limits.windowSeconds, now: now), rawCount: ticks.count))
            }
            return (state.seq, series)
        }
    }

    struct Summary {
        var seq: UInt64
        var symbols: [String]
        var points: Int
        var totals: RollingWindow.Counts
        var symbolsReleased: Int
    }

    /// The last `seq` handed out, the symbols held, their total points and the counters.
    func summary() -> Summary {
        state.withLock { state in
            Summary(
                seq: state.seq, symbols: state.slots.keys.sorted(), points: state.slots.values.reduce(0) { $0 + $1.window.count },
                totals: metrics.totals, symbolsReleased: metrics.symbolsReleased.value
            )
        }
    }

    private func newWindow() -> RollingWindow {
        RollingWindow(length: limits.windowSeconds, maxTicks: limits.maxTicksPerWindow)
    }

    private static func checkRoom(for added: Int, in state: State, limit: Int) throws(RequestError) {
        guard state.slots.count + added <= limit else {
            throw .invalid(
                "the producer holds at most \(limit) symbols (\(state.slots.count) held, \(added) new); symbols whose window stays empty are forgotten"
            )
        }
    }

    /// A short id that tells one producer run from the next.
    static func makeRunID() -> String {
        String(UUID().uuidString.lowercased().prefix(8))
    }
}

extension WindowStore.Limits {
    /// Points each chart may send in a snapshot of `charts` charts (0 = every point): the
    /// per-chart limit, or the chart's share of the snapshot limit if that is smaller, but never
    /// under ``Downsampler/minimumPoints``.
    func pointsPerChart(charts: Int) -> Int {
        guard maxSnapshotPoints > 0, charts > 0 else { return maxPoints }
        let share = max(Downsampler.minimumPoints, maxSnapshotPoints / charts)
        return maxPoints == 0 ? share : min(maxPoints, share)
    }
}
