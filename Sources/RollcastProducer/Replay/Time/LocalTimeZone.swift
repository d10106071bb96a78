import Foundation

/// Turns a date and time without a zone into Unix seconds in the zone of `--time-zone`.
///
/// A local time that a clock change skips (02:30 on the night clocks go forward) is read with
/// the offset before the change, so it lands after the change (03:30 of the new offset); one
/// that happens twice (01:30 on the night clocks go back) is the first of the two. That is
/// what Python's `zoneinfo` does with `fold=0`.
///
/// Asking Foundation for an offset costs about a microsecond, so the offset of the last local
/// hour converted is kept: rows in time order reuse it until the hour changes.
struct LocalTimeZone {
    let zone: TimeZone
    private let isUTC: Bool
    private var cachedHour = Int.min
    private var cachedOffset = 0.0

    init(_ zone: TimeZone) {
        self.zone = zone
        isUTC = zone.identifier == "UTC" || zone.identifier == "GMT" || (zone.secondsFromGMT() == 0 && zone.nextDaylightSavingTimeTransition == nil)
    }

    static let utc = LocalTimeZone(TimeZone(identifier: "UTC")!)

    /// Unix seconds of `time`: its own offset when it names one, else this zone's; `nil` when a field is out of range.
    mutating func seconds(_ time: CivilTime) -> Double? {
        guard let local = time.secondsIgnoringZone else { return nil }
        if let offset = time.utcOffset { return local - Double(offset) }
        return utc(fromLocal: local)
    }

    mutating func utc(fromLocal local: Double) -> Double {
        if isUTC { return local }
        let hour = Int((local / 3_600).rounded(.down))
        if hour == cachedHour { return local - cachedOffset }
        let (offset, cacheable) = offset(forLocal: local)
        if cacheable {
            cachedHour = hour
            cachedOffset = offset
        }
        return local - offset
    }

    /// The offset that turns `local` into UTC, and whether its whole local hour has that offset
    /// (no change of offset within a day of it).
    private func offset(forLocal local: Double) -> (Double, Bool) {
        let before = offset(at: local - 86_400)
        let after = offset(at: local + 86_400)
        if before == after, offset(at: local - before) == before { return (before, true) }
        let withBefore = offset(at: local - before) == before
        let withAfter = offset(at: local - after) == after
        switch (withBefore, withAfter) {
        case (true, true): return (local - before < local - after ? before : after, false)  // twice: the first
        case (false, true): return (after, false)
        default: return (before, false)  // skipped, or only the earlier offset fits
        }
    }

    private func offset(at utc: Double) -> Double {
        Double(zone.secondsFromGMT(for: Date(timeIntervalSince1970: utc)))
    }
}
