import DequeModule

/// Reduces a series to at most `maxPoints` while keeping its peaks and troughs.
///
/// A chart a few hundred pixels wide cannot show 10,000 points, but it must still show the
/// spike that happened between two of them. Min/max bucketing does that: time is cut into
/// equal buckets and each bucket keeps its lowest and its highest tick (in time order); the
/// newest tick is always kept. Ticks are kept as they were, never averaged, so every point
/// drawn is a price that traded.
///
/// Buckets are aligned to time (multiples of the bucket width since the epoch), not to the
/// window's start, and the bucket the window's start cuts through is left out: so from one
/// snapshot to the next a new tick changes only the last bucket, and the window moving on
/// only drops whole buckets from the front. That keeps the delta stream's messages small
/// (docs/protocol.md). The chart starts up to one bucket (`window / ((maxPoints - 3) / 2)`)
/// after the window does.
public enum Downsampler {
    /// The smallest useful `maxPoints`: one whole bucket, the one under way, and the newest tick.
    public static let minimumPoints = 5

    /// Reduces an array of ticks; see ``minMax(_:maxPoints:span:now:)-(Deque<Tick>,_,_,_)``.
    public static func minMax(_ ticks: [Tick], maxPoints: Int, span: Double, now: Double) -> [Tick] {
        minMax(Deque(ticks), maxPoints: maxPoints, span: span, now: now)
    }

    /// - Parameters:
    ///   - ticks: in strictly ascending time, as a window holds them.
    ///   - maxPoints: 0 keeps everything; otherwise at least ``minimumPoints``.
    ///   - span: the window's length in seconds; `now`: the clock, so the window is `(now - span, now]`.
    /// - Returns: a copy; the window is read once. Not generic on purpose: a generic
    ///   function called from another module runs unspecialised, about ten times slower.
    public static func minMax(_ ticks: Deque<Tick>, maxPoints: Int, span: Double, now: Double) -> [Tick] {
        guard maxPoints > 0, ticks.count > maxPoints, span > 0 else { return Array(ticks) }
        precondition(maxPoints >= minimumPoints, "maxPoints must be 0 or at least \(minimumPoints)")
        // Whole buckets plus the one under way, two points each, and the newest tick.
        let buckets = (maxPoints - 3) / 2
        let width = span / Double(buckets)
        let cutoff = ((now - span) / width).rounded(.up) * width
        var output: [Tick] = []
        output.reserveCapacity(maxPoints)

        var bucket: Double? = nil
        var low = ticks.first!
        var high = low
        func flush() {
            guard bucket != nil else { return }
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
        for tick in ticks where tick.time >= cutoff {
            let index = (tick.time / width).rounded(.down)
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
        let last = ticks.last!
        if output.last?.time != last.time { output.append(last) }
        return output
    }
}
