/// A date and time of day read from text, before any time zone is applied.
///
/// Every reader of the replay's time column (the built-in formats and `--time-format`) fills
/// one of these, so the range checks and the arithmetic live in one place.
struct CivilTime: Equatable {
    var year = 1970
    var month = 1
    var day = 1
    var hour = 0
    var minute = 0
    var second = 0
    /// Fraction of a second, in [0, 1).
    var fraction = 0.0
    /// Seconds east of UTC when the text named its zone; `nil` means the zone is the reader's
    /// (`--time-zone`, UTC by default).
    var utcOffset: Int?

    /// Seconds since 1970-01-01 00:00 of this date and time as if it were UTC (no offset
    /// applied), or `nil` when a field is out of range (a 30 February, a 25th hour).
    var secondsIgnoringZone: Double? {
        guard (1...12).contains(month), (1...Self.daysIn(month: month, year: year)).contains(day), (0..<24).contains(hour),
            (0..<60).contains(minute), (0...60).contains(second)
        else { return nil }
        let days = Self.daysFromCivil(year: year, month: month, day: day)
        // Whole milliseconds, as the rest of Rollcast writes times.
        return Double(days * 86_400 + hour * 3_600 + minute * 60 + second) + (fraction * 1_000).rounded() / 1_000
    }

    static func isLeap(_ year: Int) -> Bool {
        (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 in the proleptic Gregorian calendar (Howard Hinnant's algorithm).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
