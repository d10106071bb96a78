import Foundation

/// How replayed files are read: the flags that go with `--replay`.
public struct ReplayOptions: Sendable {
    /// Leave bad rows out (counted) instead of failing on the first (`--skip-bad`).
    public var skipBad: Bool
    /// Read every time with this pattern instead of choosing a format (`--time-format`).
    public var timePattern: TimePattern?
    /// The zone of times that do not name one (`--time-zone`).
    public var timeZone: TimeZone
    /// The unit of numeric times (`--time-unit`).
    public var timeUnit: TimeUnit
    /// The value columns, each a series (`--columns`); `nil` chooses from the header.
    public var columns: [String]?
    /// The series' name in files without a symbol column, instead of the file's name (`--symbol`).
    public var symbol: String?

    public init(
        skipBad: Bool = false, timePattern: TimePattern? = nil, timeZone: TimeZone = TimeZone(identifier: "UTC")!, timeUnit: TimeUnit = .s,
        columns: [String]? = nil, symbol: String? = nil
    ) {
        self.skipBad = skipBad
        self.timePattern = timePattern
        self.timeZone = timeZone
        self.timeUnit = timeUnit
        self.columns = columns
        self.symbol = symbol
    }
}
