/// What changed from one snapshot to the next: the message of the delta stream
/// (`rollcast.delta.v1`, see docs/protocol.md), found by comparing the two snapshots' series.
///
/// For each chart that changed: drop `drop` points from the front, then `replace` points from
/// the end, then append the new points. Applied in that order to the previous snapshot's
/// arrays it gives the next snapshot's arrays exactly: the points kept are the same values
/// (compared bit for bit), and they are written by the same number writer as the full message.
public struct SnapshotDelta: Sendable {
    public struct Change: Sendable {
        public var symbol: String
        public var rawCount: Int
        public var drop: Int
        public var replace: Int
        public var appended: ArraySlice<Tick>
    }

    /// Charts held before and after, that changed (points or `raw_points`), in symbol order.
    public var changes: [Change]
    /// Charts new in this snapshot, whole.
    public var added: [SeriesSnapshot]
    /// Symbols gone since the previous snapshot, in order.
    public var removed: [String]

    /// The delta that turns `previous` into `next` (each in symbol order).
    public static func between(_ previous: [SeriesSnapshot], _ next: [SeriesSnapshot]) -> SnapshotDelta {
        var before: [String: SeriesSnapshot] = [:]
        before.reserveCapacity(previous.count)
        for series in previous { before[series.symbol] = series }
        var delta = SnapshotDelta(changes: [], added: [], removed: [])
        for series in next {
            guard let old = before.removeValue(forKey: series.symbol) else {
                delta.added.append(series)
                continue
            }
            if let change = change(from: old, to: series) { delta.changes.append(change) }
        }
        delta.removed = before.keys.sorted()
        return delta
    }

    /// How `old` became `new`, or `nil` when nothing did.
    static func change(from old: SeriesSnapshot, to new: SeriesSnapshot) -> Change? {
        let before = old.ticks
        let after = new.ticks
        // Points older than the new first point went out of the window (or out of its buckets).
        var drop = 0
        if let first = after.first {
            while drop < before.count, before[drop].time < first.time { drop += 1 }
        } else {
            drop = before.count
        }
        var kept = 0
        while drop + kept < before.count, kept < after.count, same(before[drop + kept], after[kept]) { kept += 1 }
        let replace = before.count - drop - kept
        if drop == 0, replace == 0, kept == after.count, old.rawCount == new.rawCount { return nil }
        return Change(symbol: new.symbol, rawCount: new.rawCount, drop: drop, replace: replace, appended: after[kept...])
    }

    /// Equal as written: the same bits, so `-0` and `0` differ as their JSON does.
    private static func same(_ a: Tick, _ b: Tick) -> Bool {
        a.time.bitPattern == b.time.bitPattern && a.price.bitPattern == b.price.bitPattern && a.volume.bitPattern == b.volume.bitPattern
    }
}
