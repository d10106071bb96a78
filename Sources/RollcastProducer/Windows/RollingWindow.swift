import DequeModule

/// The ticks of one series over the last `length` seconds of the producer's clock, in strictly
/// ascending time, at most `maxTicks` of them.
///
/// Storage is a ring buffer (`Deque`): appending in time order and evicting from the front
/// are O(1) amortised. Charts need unique, ascending x values, so a tick with the same time
/// as a stored one is merged into it (its price wins, volumes add up), and a late tick is
/// inserted in order. The window is trimmed against the clock (`now`), never against its
/// newest tick, so no tick can hold a window in the past.
public struct RollingWindow: Sendable {
    /// Window length in seconds.
    public let length: Double
    /// Most ticks held; past it the oldest go first.
    public let maxTicks: Int
    public private(set) var ticks: Deque<Tick> = []

    /// What ``append(_:now:)`` did with one tick.
    public enum AppendOutcome: Equatable, Sendable {
        /// The tick is the newest and was added at the end.
        case appended
        /// A tick with the same time was stored already; the two were merged.
        case merged
        /// The tick arrived late and was inserted at its place in time.
        case inserted
        /// The tick is older than the window on the clock, and was dropped.
        case tooOld
    }

    /// What ``add(_:now:)`` did with a batch.
    public struct Counts: Equatable, Sendable {
        public var appended = 0
        public var merged = 0
        public var inserted = 0
        public var tooOld = 0
        /// Oldest ticks dropped to keep the window at ``RollingWindow/maxTicks``.
        public var droppedByCap = 0
        /// Merges whose volume sum would have passed the largest finite number and was held at it.
        public var volumesCapped = 0

        public init() {}

        public static func += (lhs: inout Counts, rhs: Counts) {
            lhs.appended += rhs.appended
            lhs.merged += rhs.merged
            lhs.inserted += rhs.inserted
            lhs.tooOld += rhs.tooOld
            lhs.droppedByCap += rhs.droppedByCap
            lhs.volumesCapped += rhs.volumesCapped
        }
    }

    /// Late ticks per batch inserted one by one (each moves part of the buffer); past this
    /// the rest are sorted and merged in one pass, so a batch costs O(window + batch log batch).
    static let insertsInPlace = 16

    public init(length: Double, maxTicks: Int = .max) {
        precondition(length > 0, "a window must be longer than zero seconds")
        precondition(maxTicks > 0, "a window must hold at least one tick")
        self.length = length
        self.maxTicks = maxTicks
    }

    public var isEmpty: Bool { ticks.isEmpty }
    public var count: Int { ticks.count }
    public var newest: Tick? { ticks.last }

    /// Adds one tick at clock time `now`; see ``add(_:now:)``.
    @discardableResult
    public mutating func append(_ tick: Tick, now: Double) -> AppendOutcome {
        let counts = add(CollectionOfOne(tick), now: now)
        if counts.appended > 0 { return .appended }
        if counts.merged > 0 { return .merged }
        if counts.inserted > 0 { return .inserted }
        return .tooOld
    }

    /// Adds `batch` in arrival order at clock time `now`: first evicts what the clock has
    /// pushed out, then drops ticks older than the window, appends, merges or inserts the rest,
    /// and finally drops the oldest ticks past ``maxTicks``.
    ///
    /// The result is the same as adding the ticks one by one; only the split between
    /// `appended` and `inserted` is counted against the window as it was before the batch.
    public mutating func add(_ batch: some Collection<Tick>, now: Double) -> Counts {
        var counts = Counts()
        let cutoff = now - length
        evict(olderThan: cutoff)
        var deferred: [Tick] = []
        var insertedInPlace = 0
        for tick in batch {
            if tick.time < cutoff {
                counts.tooOld += 1
                continue
            }
            guard let last = ticks.last, tick.time <= last.time else {
                ticks.append(tick)
                counts.appended += 1
                continue
            }
            let index = firstIndex(notBefore: tick.time)
            if index < ticks.count, ticks[index].time == tick.time {
                merge(tick, into: &ticks[index], counts: &counts)
            } else if deferred.isEmpty, insertedInPlace < Self.insertsInPlace {
                ticks.insert(tick, at: index)
                insertedInPlace += 1
                counts.inserted += 1
            } else {
                // Once deferring starts every late tick that the window lacks is deferred, so
                // ticks that share a time stay together and in arrival order.
                deferred.append(tick)
            }
        }
        if !deferred.isEmpty { mergeInOrder(deferred, counts: &counts) }
        counts.droppedByCap = enforceCap()
        return counts
    }

    /// Removes every tick older than `cutoff` (Unix seconds); the tick at `cutoff` stays.
    /// - Returns: how many were removed.
    @discardableResult
    public mutating func evict(olderThan cutoff: Double) -> Int {
        let end = firstIndex(notBefore: cutoff)
        ticks.removeFirst(end)
        return end
    }

    /// Removes what the clock at `now` has pushed out of the window.
    @discardableResult
    public mutating func trim(now: Double) -> Int {
        evict(olderThan: now - length)
    }

    /// Replaces the contents with `history` (which need not be sorted), as ``add(_:now:)`` would.
    @discardableResult
    public mutating func replace(with history: some Collection<Tick>, now: Double) -> Counts {
        ticks.removeAll(keepingCapacity: true)
        return add(history, now: now)
    }

    private mutating func enforceCap() -> Int {
        let excess = ticks.count - maxTicks
        guard excess > 0 else { return 0 }
        ticks.removeFirst(excess)
        return excess
    }

    private func merge(_ tick: Tick, into stored: inout Tick, counts: inout Counts) {
        stored.price = tick.price
        let volume = stored.volume + tick.volume
        if volume.isFinite {
            stored.volume = volume
        } else {
            // JSON has no infinity: hold the sum at the largest number it can carry.
            stored.volume = .greatestFiniteMagnitude
            counts.volumesCapped += 1
        }
        counts.merged += 1
    }

    /// Merges late ticks that the window lacks, in one pass over the window.
    private mutating func mergeInOrder(_ late: [Tick], counts: inout Counts) {
        // Sorting by (time, arrival) keeps ticks that share a time in arrival order.
        let sorted = late.enumerated().sorted { ($0.element.time, $0.offset) < ($1.element.time, $1.offset) }.map(\.element)
        var result = Deque<Tick>()
        result.reserveCapacity(ticks.count + sorted.count)
        var next = sorted.startIndex
        for stored in ticks {
            while next < sorted.endIndex, sorted[next].time < stored.time {
                appendOrMerge(sorted[next], to: &result, counts: &counts)
                next += 1
            }
            result.append(stored)
            while next < sorted.endIndex, sorted[next].time == stored.time {
                merge(sorted[next], into: &result[result.count - 1], counts: &counts)
                next += 1
            }
        }
        while next < sorted.endIndex {
            appendOrMerge(sorted[next], to: &result, counts: &counts)
            next += 1
        }
        ticks = result
    }

    private func appendOrMerge(_ tick: Tick, to result: inout Deque<Tick>, counts: inout Counts) {
        if let last = result.last, last.time == tick.time {
            merge(tick, into: &result[result.count - 1], counts: &counts)
        } else {
            result.append(tick)
            counts.inserted += 1
        }
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
