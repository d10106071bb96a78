/// The order of a date's year, month and day.
enum DateOrder: CaseIterable, Sendable {
    /// `2010-01-02`, `2010/01/02`, `2010.01.02`, `2010-Jan-02`
    case yearMonthDay
    /// `02/01/2010`, `2 Jan 2010`, `02-Jan-2010`, `Sat, 02 Jan 2010 09:30:00 +0000`
    case dayMonthYear
    /// `01/02/2010`, `Jan 2 2010`, `January 2, 2010`
    case monthDayYear
}

/// Dates and times written as text in the built-in forms: a date in one of the three orders
/// (numbers or a month's name, separated by `-`, `/`, `.` or spaces), an optional weekday
/// before it, an optional time after it (`T`, a space or a comma between; `HH:MM`, seconds
/// and a fraction optional, `AM`/`PM` optional) and an optional zone (`Z`, `UTC`, `+01:00`,
/// `-0500`, `EST`). ISO-8601 and RFC 2822 are both such forms.
///
/// Whether a value is `day/month` or `month/day` cannot be told from `01/02/2010` alone: the
/// replay reads each value in every order that fits and keeps the orders every row fits
/// (``TimeColumn``).
enum DateTimeText {
    /// What a value held besides its date, for messages and suggested `--time-format` patterns.
    struct Shape {
        var monthName = false
        var weekday = false
        /// The bytes between the date's fields (`-`, `/`, `.`, space), when both were the same.
        var separator: UInt8?
        var time = false
        var seconds = false
        var fraction = false
        var meridiem = false
        var zone = false
    }

    /// The date and time `text` holds in `order`, or `nil` when it is not one in that order.
    static func parse(_ text: UnsafeRawBufferPointer, _ order: DateOrder) -> CivilTime? {
        var shape = Shape()
        return parse(text, order, shape: &shape)
    }

    /// What `text` held, read in `order`.
    static func shape(of text: UnsafeRawBufferPointer, _ order: DateOrder) -> Shape? {
        var shape = Shape()
        return parse(text, order, shape: &shape) == nil ? nil : shape
    }

    /// A `--time-format` pattern that reads values of this shape in `order`.
    static func pattern(_ shape: Shape, _ order: DateOrder) -> String {
        let separator = shape.separator.map { String(UnicodeScalar($0)) } ?? " "
        let month = shape.monthName ? "%b" : "%m"
        var pattern: String
        switch order {
        case .yearMonthDay: pattern = ["%Y", month, "%d"].joined(separator: separator)
        case .dayMonthYear: pattern = ["%d", month, "%Y"].joined(separator: separator)
        case .monthDayYear: pattern = [month, "%d", "%Y"].joined(separator: separator)
        }
        if shape.weekday { pattern = "%a, " + pattern }
        if shape.time { pattern += (shape.meridiem ? " %I:%M" : " %H:%M") + (shape.seconds ? ":%S" : "") + (shape.fraction ? ".%f" : "") }
        if shape.meridiem { pattern += " %p" }
        if shape.zone { pattern += " %z" }
        return pattern
    }

    private static func parse(_ text: UnsafeRawBufferPointer, _ order: DateOrder, shape: inout Shape) -> CivilTime? {
        var cursor = TextCursor(text)
        var time = CivilTime()
        cursor.skipSpaces()
        if cursor.weekdayName() {
            shape.weekday = true
            _ = cursor.skip(UInt8(ascii: ","))
            cursor.skipSpaces()
        }
        guard date(&cursor, order, into: &time, shape: &shape) else { return nil }
        let afterDate = cursor.index
        // The time: after a `T`, a comma or spaces.
        let spaced = cursor.skip(UInt8(ascii: ",")) || cursor.next == UInt8(ascii: " ") || cursor.next == 0x09
        if cursor.skipSpaces() > 0 || spaced || cursor.skip(UInt8(ascii: "T")) {
            if let hour = cursor.digits(1, 2) {
                guard cursor.skip(UInt8(ascii: ":")), let minute = cursor.digits(2, 2) else { return nil }
                (time.hour, time.minute) = (hour, minute)
                shape.time = true
                if cursor.skip(UInt8(ascii: ":")) {
                    guard let second = cursor.digits(2, 2) else { return nil }
                    time.second = second
                    shape.seconds = true
                    if cursor.skip(UInt8(ascii: ".")) || cursor.skip(UInt8(ascii: ",")) {
                        guard let fraction = cursor.fraction() else { return nil }
                        time.fraction = fraction
                        shape.fraction = true
                    }
                }
                let beforeMeridiem = cursor.index
                cursor.skipSpaces()
                if let pm = cursor.meridiem() {
                    guard (1...12).contains(hour) else { return nil }
                    time.hour = hour % 12 + (pm ? 12 : 0)
                    shape.meridiem = true
                } else {
                    cursor.index = beforeMeridiem
                }
                let beforeZone = cursor.index
                cursor.skipSpaces()
                if let offset = cursor.zone() {
                    time.utcOffset = offset
                    shape.zone = true
                } else {
                    cursor.index = beforeZone
                }
            } else {
                cursor.index = afterDate
            }
        }
        cursor.skipSpaces()
        return cursor.atEnd ? time : nil
    }

    /// The date, in `order`. Numeric dates use one separator twice (`-`, `/` or `.`); dates with
    /// a month's name may use any of them or spaces, and a comma after the day (`Jan 2, 2010`).
    private static func date(_ cursor: inout TextCursor, _ order: DateOrder, into time: inout CivilTime, shape: inout Shape) -> Bool {
        switch order {
        case .yearMonthDay:
            guard let year = cursor.digits(4, 4), let first = separator(&cursor) else { return false }
            guard let month = cursor.monthName() ?? cursor.digits(1, 2), let second = separator(&cursor), let day = cursor.digits(1, 2) else { return false }
            (time.year, time.month, time.day) = (year, month, day)
            return agree(first, second, named: false, shape: &shape)
        case .dayMonthYear:
            guard let day = cursor.digits(1, 2), let first = separator(&cursor) else { return false }
            let named = cursor.monthName()
            guard let month = named ?? cursor.digits(1, 2), let second = separator(&cursor), let year = cursor.digits(4, 4) else { return false }
            (time.year, time.month, time.day) = (year, month, day)
            shape.monthName = named != nil
            return agree(first, second, named: named != nil, shape: &shape)
        case .monthDayYear:
            let named = cursor.monthName()
            guard let month = named ?? cursor.digits(1, 2), let first = separator(&cursor), let day = cursor.digits(1, 2) else { return false }
            let comma = cursor.skip(UInt8(ascii: ","))
            guard let second = separator(&cursor) ?? (comma ? UInt8(ascii: " ") : nil), let year = cursor.digits(4, 4) else { return false }
            (time.year, time.month, time.day) = (year, month, day)
            shape.monthName = named != nil
            return agree(first, second, named: named != nil, shape: &shape)
        }
    }

    /// One of `-`, `/`, `.`, or spaces (read as one space).
    private static func separator(_ cursor: inout TextCursor) -> UInt8? {
        if cursor.skipSpaces() > 0 { return UInt8(ascii: " ") }
        guard let byte = cursor.next, byte == UInt8(ascii: "-") || byte == UInt8(ascii: "/") || byte == UInt8(ascii: ".") else { return nil }
        cursor.index += 1
        return byte
    }

    private static func agree(_ first: UInt8, _ second: UInt8, named: Bool, shape: inout Shape) -> Bool {
        if first == second { shape.separator = first }
        // `01 02 2010` is no date anyone writes; `2 Jan 2010` is.
        return named || (first == second && first != UInt8(ascii: " "))
    }
}
