import Foundation

/// A length of time as a flag takes it: seconds (`300`, `0.5`), or a number and a unit:
/// `s`, `m` (minutes), `h`, `d`, `w`, `y` (years of 365.25 days): `15m`, `36h`, `10y`.
public enum DurationText {
    static let units: [(suffix: String, seconds: Double)] = [
        ("s", 1), ("m", 60), ("h", 3_600), ("d", 86_400), ("w", 7 * 86_400), ("y", 365.25 * 86_400),
    ]

    /// A year in seconds, as `y` counts it.
    public static let year = 365.25 * 86_400

    /// The seconds `text` names, or `nil` when it is not a number with an optional unit.
    public static func seconds(_ text: String) -> Double? {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        for unit in units where trimmed.hasSuffix(unit.suffix) {
            guard let number = Double(trimmed.dropLast(unit.suffix.count).trimmingCharacters(in: .whitespaces)), number.isFinite else { return nil }
            return number * unit.seconds
        }
        guard let number = Double(trimmed), number.isFinite else { return nil }
        return number
    }
}
