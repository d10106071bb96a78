import Foundation
import Logging
import RollcastCore
import ServiceLifecycle
import Synchronization

/// The built-in data source: a random walk per mock symbol, ticking a few times a second.
///
/// It owns every mock symbol's walk, so back-filled history (from `load_mock_data`) and
/// the live ticks after it come from one deterministic path per symbol and seed.
final class MockFeed: Service, Sendable {
    private let store: WindowStore
    private let rate: Double
    private let logger: Logger
    // Held while a walk steps and its tick is stored, so a load never interleaves with a tick.
    private let walks: Mutex<[String: RandomWalk]>

    init(store: WindowStore, symbols: [String], seed: UInt64, rate: Double, logger: Logger) throws {
        self.store = store
        self.rate = rate
        self.logger = logger
        self.walks = Mutex([:])
        // Default symbols start with a full window, so the dashboard has shape at once.
        let points = min(Int(store.windowSeconds * rate), LoadMockData.maxPoints, LoadMockData.pointBudget / max(1, symbols.count))
        // A load request holds at most `LoadMockData.maxSymbols`: a longer list starts in several.
        var start = 0
        while start < symbols.count {
            let batch = Array(symbols[start..<min(symbols.count, start + LoadMockData.maxSymbols)])
            _ = try load(LoadMockData(symbols: batch, points: points, seed: seed &+ UInt64(start)).validated())
            start += batch.count
        }
    }

    /// Replaces the given symbols' windows with `points` of seeded history ending now.
    ///
    /// The history is generated before any lock is taken (at most ``LoadMockData/pointBudget``
    /// ticks, about 24 MB); the locks are held only to swap it in.
    /// - Returns: the first snapshot `seq` that contains the history.
    func load(_ request: LoadMockData) throws(RequestError) -> UInt64 {
        let now = Self.milliseconds(store.clock.now())
        var fresh: [String: RandomWalk] = [:]
        var histories: [(symbol: String, ticks: [Tick])] = []
        for symbol in request.symbols {
            var walk = RandomWalk(symbol: symbol, seed: request.seed)
            histories.append((symbol, walk.history(count: request.points, endingAt: now, span: store.windowSeconds)))
            fresh[symbol] = walk
        }
        return try walks.withLock { walks throws(RequestError) in
            let visibleFrom = try store.replace(histories)
            walks.merge(fresh) { _, new in new }
            return visibleFrom
        }
    }

    func run() async throws {
        let period = Duration.milliseconds(Int64((1000 / rate).rounded()))
        logger.info("mock feed started", metadata: ["rate_per_s": "\(rate)"])
        let clock = ContinuousClock()
        var next = clock.now
        while !Task.isCancelledOrShuttingDown {
            next = next.advanced(by: period)
            // A gap (a suspended laptop, a stopped process) is not made up with a burst.
            if next < clock.now { next = clock.now.advanced(by: period) }
            try? await Task.sleep(until: next, clock: clock)
            tick(at: Self.milliseconds(store.clock.now()))
        }
        logger.info("mock feed stopped")
    }

    private func tick(at time: Double) {
        walks.withLock { walks in
            // One store lock per round of ticks, not one per symbol.
            // The keys are copied first: stepping a walk while a view of the keys is alive
            // would copy the whole dictionary.
            let ticks = Array(walks.keys).map { symbol in
                (symbol: symbol, tick: Tick(time: time, price: walks[symbol]!.step(), volume: walks[symbol]!.volume()))
            }
            store.append(ticks)
        }
    }

    static func milliseconds(_ seconds: Double) -> Double {
        RandomWalk.milliseconds(seconds)
    }
}

extension Task where Success == Never, Failure == Never {
    /// True once the task is cancelled or its service group has begun a graceful shutdown.
    static var isCancelledOrShuttingDown: Bool {
        Task.isCancelled || Task.isShuttingDownGracefully
    }
}
