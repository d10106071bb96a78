/// The unit of numeric times (`--time-unit`).
public enum TimeUnit: String, CaseIterable, Sendable {
    case s, ms, us, ns

    var divisor: Double {
        switch self {
        case .s: 1
        case .ms: 1e3
        case .us: 1e6
        case .ns: 1e9
        }
    }

    var name: String {
        switch self {
        case .s: "seconds"
        case .ms: "milliseconds"
        case .us: "microseconds"
        case .ns: "nanoseconds"
        }
    }
}

/// One way a time column can be written.
enum TimeFormat: Equatable {
    /// Unix time as a number, in a unit.
    case unix(TimeUnit)
    /// A date (and time) in one of the built-in forms, in this order.
    case text(DateOrder)
    /// `--time-format`.
    case pattern(TimePattern)

    /// The formats `text` could be in, given the column's numeric unit: none, one, or (for
    /// `01/02/2010`) both day-first and month-first.
    static func candidates(for text: UnsafeRawBufferPointer, unit: TimeUnit) -> [TimeFormat] {
        // No date is a decimal number: `2010-01-02`, `02.01.2010` and `2 Jan 2010` are not.
        if DecimalText.parse(text) != nil { return [.unix(unit)] }
        return DateOrder.allCases.filter { DateTimeText.parse(text, $0) != nil }.map { .text($0) }
    }

    /// Unix seconds of `text`, or `nil` when it is not a time in this format.
    func seconds(_ text: UnsafeRawBufferPointer, zone: inout LocalTimeZone) -> Double? {
        switch self {
        case .unix(let unit):
            guard let value = DecimalText.parse(text) else { return nil }
            return unit == .s ? value : value / unit.divisor
        case .text(let order):
            guard let time = DateTimeText.parse(text, order) else { return nil }
            return zone.seconds(time)
        case .pattern(let pattern):
            switch pattern.parse(text) {
            case .civil(let time): return zone.seconds(time)
            case .unixSeconds(let seconds): return seconds
            case nil: return nil
            }
        }
    }

    /// How the format is named in the log and in messages, with `example` (a value of the column).
    func describe(example: UnsafeRawBufferPointer) -> String {
        switch self {
        case .unix(let unit): return "Unix \(unit.name)"
        case .pattern(let pattern): return "--time-format '\(pattern)'"
        case .text(let order):
            guard let shape = DateTimeText.shape(of: example, order) else { return "\(order)" }
            var words: String
            let month = shape.monthName ? "month name" : "month"
            switch order {
            case .yearMonthDay: words = "year \(month) day"
            case .dayMonthYear: words = "day \(month) year"
            case .monthDayYear: words = "\(month) day year"
            }
            if shape.time { words += shape.zone ? " time zone" : " time" }
            if order == .yearMonthDay, shape.separator == UInt8(ascii: "-"), !shape.monthName { words = "ISO-8601 (\(words))" }
            if order == .dayMonthYear, shape.monthName, shape.time, shape.zone, shape.seconds { words = "RFC 2822 (\(words))" }
            return words
        }
    }
}
