/// A `--time-format` pattern in strftime's notation, read as `strptime` reads it.
///
/// Directives: `%Y` (year), `%y` (two digits: 69–99 are 1900s, 00–68 2000s), `%m`, `%d`, `%e`,
/// `%j` (day of the year), `%H`, `%I` with `%p`, `%M`, `%S`, `%f` (fraction of a second, after
/// the point the pattern writes), `%b`/`%h`/`%B` (a month's name), `%a`/`%A` (a weekday's name,
/// read and not checked), `%z` (`+0100`, `+01:00`, `Z`), `%Z` (`UTC`, `GMT`, `EST` …), `%s`
/// (Unix seconds), `%T` (`%H:%M:%S`), `%F` (`%Y-%m-%d`), `%D` (`%m/%d/%y`), `%R` (`%H:%M`),
/// `%%`. White space in the pattern matches any run of white space, or none; any other
/// character matches itself. Numbers may have fewer digits than their field's width.
public struct TimePattern: Sendable, Equatable, CustomStringConvertible {
    enum Piece: Equatable {
        case literal(UInt8)
        case space
        case year, shortYear, month, day, dayOfYear, hour, hour12, minute, second, fraction, meridiem
        case monthName, weekdayName, zone, unixSeconds
    }

    let pieces: [Piece]
    public let description: String

    /// - Throws: a one-line reason naming the directive at fault, or the field a pattern lacks.
    public init(_ pattern: String) throws(PatternError) {
        description = pattern
        var pieces: [Piece] = []
        var bytes = Array(pattern.utf8)[...]
        while let byte = bytes.popFirst() {
            if byte == 0x20 || byte == 0x09 {
                if pieces.last != .space { pieces.append(.space) }
                continue
            }
            guard byte == UInt8(ascii: "%") else {
                pieces.append(.literal(byte))
                continue
            }
            guard let directive = bytes.popFirst() else { throw PatternError("--time-format '\(pattern)' ends with a lone %") }
            switch UnicodeScalar(directive) {
            case "Y": pieces.append(.year)
            case "y": pieces.append(.shortYear)
            case "m": pieces.append(.month)
            case "d", "e": pieces.append(.day)
            case "j": pieces.append(.dayOfYear)
            case "H": pieces.append(.hour)
            case "I": pieces.append(.hour12)
            case "M": pieces.append(.minute)
            case "S": pieces.append(.second)
            case "f": pieces.append(.fraction)
            case "p": pieces.append(.meridiem)
            case "b", "h", "B": pieces.append(.monthName)
            case "a", "A": pieces.append(.weekdayName)
            case "z", "Z": pieces.append(.zone)
            case "s": pieces.append(.unixSeconds)
            case "T": pieces += [.hour, .literal(UInt8(ascii: ":")), .minute, .literal(UInt8(ascii: ":")), .second]
            case "F": pieces += [.year, .literal(UInt8(ascii: "-")), .month, .literal(UInt8(ascii: "-")), .day]
            case "D": pieces += [.month, .literal(UInt8(ascii: "/")), .day, .literal(UInt8(ascii: "/")), .shortYear]
            case "R": pieces += [.hour, .literal(UInt8(ascii: ":")), .minute]
            case "n", "t": if pieces.last != .space { pieces.append(.space) }
            case "%": pieces.append(.literal(UInt8(ascii: "%")))
            default:
                throw PatternError(
                    "--time-format '\(pattern)': %\(Character(UnicodeScalar(directive))) is not a directive the replay reads; it reads %Y %y %m %d %e %j %H %I %p %M %S %f %b %B %a %A %z %Z %s %T %F %D %R %%"
                )
            }
        }
        let hasYear = pieces.contains(.year) || pieces.contains(.shortYear)
        guard pieces.contains(.unixSeconds) || hasYear else {
            throw PatternError("--time-format '\(pattern)' has no year (%Y or %y) and no %s: a time needs a date")
        }
        guard !(pieces.contains(.hour12) && !pieces.contains(.meridiem)) else {
            throw PatternError("--time-format '\(pattern)' has %I (a 12-hour clock) without %p (AM or PM)")
        }
        self.pieces = pieces
    }

    public struct PatternError: Error, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    /// Whether values read with this pattern carry their own zone (or are Unix seconds).
    var hasZone: Bool { pieces.contains(.zone) || pieces.contains(.unixSeconds) }

    /// What the pattern read: a date and time, or Unix seconds (`%s`).
    enum Reading {
        case civil(CivilTime)
        case unixSeconds(Double)
    }

    func parse(_ text: UnsafeRawBufferPointer) -> Reading? {
        var cursor = TextCursor(text)
        var time = CivilTime()
        var dayOfYear: Int?
        var pm: Bool?
        var unix: Double?
        cursor.skipSpaces()
        for piece in pieces {
            switch piece {
            case .literal(let byte):
                guard cursor.skip(byte) else { return nil }
            case .space:
                cursor.skipSpaces()
            case .year:
                guard let year = cursor.digits(1, 4) else { return nil }
                time.year = year
            case .shortYear:
                guard let year = cursor.digits(1, 2) else { return nil }
                time.year = year < 69 ? 2000 + year : 1900 + year
            case .month:
                guard let month = cursor.digits(1, 2) else { return nil }
                time.month = month
            case .day:
                cursor.skipSpaces()
                guard let day = cursor.digits(1, 2) else { return nil }
                time.day = day
            case .dayOfYear:
                guard let day = cursor.digits(1, 3), day >= 1 else { return nil }
                dayOfYear = day
            case .hour, .hour12:
                guard let hour = cursor.digits(1, 2) else { return nil }
                time.hour = hour
            case .minute:
                guard let minute = cursor.digits(1, 2) else { return nil }
                time.minute = minute
            case .second:
                guard let second = cursor.digits(1, 2) else { return nil }
                time.second = second
            case .fraction:
                guard let fraction = cursor.fraction() else { return nil }
                time.fraction = fraction
            case .meridiem:
                guard let value = cursor.meridiem() else { return nil }
                pm = value
            case .monthName:
                guard let month = cursor.monthName() else { return nil }
                time.month = month
            case .weekdayName:
                guard cursor.weekdayName() else { return nil }
            case .zone:
                guard let offset = cursor.zone() else { return nil }
                time.utcOffset = offset
            case .unixSeconds:
                let start = cursor.index
                if cursor.next == UInt8(ascii: "-") { cursor.index += 1 }
                guard cursor.digits(1, 19) != nil else { return nil }
                if cursor.skip(UInt8(ascii: ".")) { _ = cursor.fraction() }
                unix = DecimalText.parse(UnsafeRawBufferPointer(rebasing: text[start..<cursor.index]))
                guard unix != nil else { return nil }
            }
        }
        cursor.skipSpaces()
        guard cursor.atEnd else { return nil }
        if let unix { return .unixSeconds(unix) }
        if let pm {
            guard (1...12).contains(time.hour) else { return nil }
            time.hour = time.hour % 12 + (pm ? 12 : 0)
        }
        if let dayOfYear {
            guard dayOfYear <= (CivilTime.isLeap(time.year) ? 366 : 365) else { return nil }
            var remaining = dayOfYear
            var month = 1
            while remaining > CivilTime.daysIn(month: month, year: time.year) {
                remaining -= CivilTime.daysIn(month: month, year: time.year)
                month += 1
            }
            (time.month, time.day) = (month, remaining)
        }
        return .civil(time)
    }
}
