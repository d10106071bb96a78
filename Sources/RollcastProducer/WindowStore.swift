import Foundation
import RollcastCore
import Synchronization

/// The rolling windows of every symbol, and the snapshot sequence that reads them.
///
/// Ticks come from the mock feed and control commands on their own threads; the
/// publisher reads a consistent copy once per interval. One lock guards both, so a
/// snapshot with a higher `seq` than a write's ``WindowStore/replace(_:)`` result
/// always contains that write.
final class WindowStore: Sendable {
    private struct State {
        var windows: [String: RollingWindow] = [:]
        var seq: UInt64 = 0
    }

    let runID: String
    let windowSeconds: Double
    let maxSymbols: Int
    /// Most points per series in a snapshot (0 = all); see ``Downsampler``.
    let maxPoints: Int
    private let state = Mutex(State())

    init(windowSeconds: Double, maxSymbols: Int, maxPoints: Int = 0, runID: String = WindowStore.makeRunID()) {
        self.windowSeconds = windowSeconds
        self.maxSymbols = maxSymbols
        self.maxPoints = maxPoints
        self.runID = runID
    }

    /// Adds ticks to symbols that the store already holds, under one lock; unknown symbols are ignored.
    func append(_ ticks: [(symbol: String, tick: Tick)]) {
        state.withLock { state in
            for (symbol, tick) in ticks {
                _ = state.windows[symbol]?.append(tick)
            }
        }
    }

    /// Replaces (or creates) the windows of the given symbols with their histories.
    /// - Returns: the first snapshot `seq` that will contain the new data.
    /// - Throws: ``RequestError`` when the symbols would pass ``maxSymbols``.
    func replace(_ histories: [(symbol: String, ticks: [Tick])]) throws -> UInt64 {
        try state.withLock { state in
            let added = Set(histories.map(\.symbol)).subtracting(state.windows.keys).count
            guard state.windows.count + added <= maxSymbols else {
                throw RequestError.invalid("the producer holds at most \(maxSymbols) symbols")
            }
            for (symbol, ticks) in histories {
                var window = RollingWindow(length: windowSeconds)
                window.replace(with: ticks)
                state.windows[symbol] = window
            }
            return state.seq + 1
        }
    }

    /// Adds real ticks, creating windows for symbols not held yet.
    /// - Returns: what happened to the ticks, and the first `seq` that contains them.
    /// - Throws: ``RequestError`` (and changes nothing) when new symbols would pass ``maxSymbols``.
    func ingest(_ batch: IngestTicks) throws -> IngestResult {
        try state.withLock { state in
            let newSymbols = Set(batch.ticks.map(\.symbol)).subtracting(state.windows.keys).sorted()
            guard state.windows.count + newSymbols.count <= maxSymbols else {
                throw RequestError.invalid("the producer holds at most \(maxSymbols) symbols")
            }
            var result = IngestResult(newSymbols: newSymbols, visibleFromSeq: state.seq + 1)
            for symbol in newSymbols { state.windows[symbol] = RollingWindow(length: windowSeconds) }
            for item in batch.ticks {
                switch state.windows[item.symbol]!.append(Tick(time: item.t, price: item.price, volume: item.volume ?? 0)) {
                case .appended: result.appended += 1
                case .merged: result.merged += 1
                case .inserted: result.inserted += 1
                case .tooOld: result.tooOld += 1
                }
            }
            return result
        }
    }

    /// Evicts what is older than the window at `now` and copies every series, by symbol name,
    /// reduced to ``maxPoints``: the one copy a snapshot makes of each window.
    func takeSnapshot(now: Double) -> (seq: UInt64, series: [SeriesSnapshot]) {
        state.withLock { state in
            state.seq += 1
            let cutoff = now - windowSeconds
            var series: [SeriesSnapshot] = []
            series.reserveCapacity(state.windows.count)
            for symbol in state.windows.keys.sorted() {
                state.windows[symbol]!.evict(olderThan: cutoff)
                let ticks = state.windows[symbol]!.ticks
                series.append(SeriesSnapshot(symbol: symbol, ticks: Downsampler.minMax(ticks, maxPoints: maxPoints), rawCount: ticks.count))
            }
            return (state.seq, series)
        }
    }

    /// The last `seq` handed out, the symbols held and their total points.
    func summary() -> (seq: UInt64, symbols: [String], points: Int) {
        state.withLock { state in
            (state.seq, state.windows.keys.sorted(), state.windows.values.reduce(0) { $0 + $1.count })
        }
    }

    /// A short id that tells one producer run from the next.
    static func makeRunID() -> String {
        String(UUID().uuidString.lowercased().prefix(8))
    }
}
