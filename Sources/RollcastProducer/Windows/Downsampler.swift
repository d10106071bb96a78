import DequeModule

/// Reduces a series to at most `maxPoints` while keeping its peaks and troughs.
///
/// A chart a few hundred pixels wide cannot show 10,000 points, but it must still show the
/// spike that happened between two of them. Min/max bucketing does that: the first and
/// last ticks stay; the time between them is cut into equal buckets and each bucket keeps
/// its lowest and its highest tick (in time order). Ticks are kept as they were, never
/// averaged, so every point drawn is a price that traded.
public enum Downsampler {
    /// The smallest useful `maxPoints`: the two ends and one bucket.
    public static let minimumPoints = 4

    /// Reduces an array of ticks; see ``minMax(_:maxPoints:)-(Deque<Tick>,_)``.
    public static func minMax(_ ticks: [Tick], maxPoints: Int) -> [Tick] {
        minMax(Deque(ticks), maxPoints: maxPoints)
    }

    /// - Parameters:
    ///   - ticks: in strictly ascending time, as a window holds them.
    ///   - maxPoints: 0 keeps everything; otherwise at least ``minimumPoints``.
    /// - Returns: a copy; the window is read once. Not generic on purpose: a generic
    ///   function called from another module runs unspecialised, about ten times slower.
    public static func minMax(_ ticks: Deque<Tick>, maxPoints: Int) -> [Tick] {
        guard maxPoints > 0, ticks.count > maxPoints else { return Array(ticks) }
        precondition(maxPoints >= minimumPoints, "maxPoints must be 0 or at least \(minimumPoints)")
        let first = ticks.first!
        let last = ticks.last!
        let buckets = (maxPoints - 2) / 2
        let width = (last.time - first.time) / Double(buckets)
        var output: [Tick] = []
        output.reserveCapacity(maxPoints)
        output.append(first)

        var bucket = -1
        var low = first
        var high = first
        func flush() {
            guard bucket >= 0 else { return }
            if low.time == high.time {
                output.append(low)
            } else if low.time < high.time {
                output.append(low)
                output.append(high)
            } else {
                output.append(high)
                output.append(low)
            }
        }
        for position in 1..<(ticks.count - 1) {
            let tick = ticks[position]
            let index = min(buckets - 1, Int((tick.time - first.time) / width))
            if index != bucket {
                flush()
                bucket = index
                low = tick
                high = tick
            } else {
                if tick.price < low.price { low = tick }
                if tick.price > high.price { high = tick }
            }
        }
        flush()
        output.append(last)
        return output
    }
}
