/// A token's lifetime as written on the command line: a number and a unit.
public enum TokenLifetime {
    /// The longest lifetime given out: a token cannot be taken back before it expires.
    public static let maximum: Duration = .seconds(366 * 86_400)

    /// `90s`, `30m`, `8h`, `7d` (or `1.5h`); `nil` for a bare number, another unit, zero or more than ``maximum``.
    public static func parse(_ text: String) -> Duration? {
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3_600, "d": 86_400]
        guard let unit = text.last, let scale = units[unit], let amount = Double(text.dropLast()), amount.isFinite, amount > 0 else { return nil }
        let seconds = amount * scale
        guard seconds <= Double(maximum.components.seconds) else { return nil }
        return .milliseconds(Int64((seconds * 1_000).rounded()))
    }
}
