import DequeModule

/// The ticks of one series over the last `length` seconds, in strictly ascending time.
///
/// Storage is a ring buffer (`Deque`): appending in time order and evicting from the
/// front are O(1) amortised and allocate only when the buffer grows. Charts need unique,
/// ascending x values, so a tick with the same time as a stored one is merged into it
/// (its price wins, volumes add up), and a late tick is inserted in order.
public struct RollingWindow: Sendable {
    /// Window length in seconds.
    public let length: Double
    public private(set) var ticks: Deque<Tick> = []

    /// What ``append(_:)`` did with a tick.
    public enum AppendOutcome: Equatable, Sendable {
        /// The tick is the newest and was added at the end.
        case appended
        /// A tick with the same time was stored already; the two were merged.
        case merged
        /// The tick arrived late and was inserted at its place in time.
        case inserted
        /// The tick is older than the window, measured from the newest tick, and was dropped.
        case tooOld
    }

    public init(length: Double) {
        precondition(length > 0, "a window must be longer than zero seconds")
        self.length = length
    }

    public var isEmpty: Bool { ticks.isEmpty }
    public var count: Int { ticks.count }
    public var newest: Tick? { ticks.last }

    /// Adds a tick, keeping time strictly ascending, and evicts what falls out of the window.
    @discardableResult
    public mutating func append(_ tick: Tick) -> AppendOutcome {
        guard let last = ticks.last else {
            ticks.append(tick)
            return .appended
        }
        if tick.time > last.time {
            ticks.append(tick)
            evict(olderThan: tick.time - length)
            return .appended
        }
        if tick.time < last.time - length { return .tooOld }
        // Late or duplicate: find the first stored tick not earlier than this one.
        let index = firstIndex(notBefore: tick.time)
        if index < ticks.count, ticks[index].time == tick.time {
            ticks[index].price = tick.price
            ticks[index].volume += tick.volume
            return .merged
        }
        ticks.insert(tick, at: index)
        return .inserted
    }

    /// Removes every tick older than `cutoff` (Unix seconds); the tick at `cutoff` stays.
    public mutating func evict(olderThan cutoff: Double) {
        while let first = ticks.first, first.time < cutoff {
            ticks.removeFirst()
        }
    }

    /// Replaces the contents with `history`, which must be in strictly ascending time.
    public mutating func replace(with history: some Sequence<Tick>) {
        ticks.removeAll(keepingCapacity: true)
        for tick in history { append(tick) }
    }

    private func firstIndex(notBefore time: Double) -> Int {
        var low = 0
        var high = ticks.count
        while low < high {
            let middle = (low + high) / 2
            if ticks[middle].time < time { low = middle + 1 } else { high = middle }
        }
        return low
    }
}
