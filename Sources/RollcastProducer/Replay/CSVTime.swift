/// The `t` column of a replayed file: Unix seconds, or an ISO-8601 date and time.
///
/// Accepted: `1262304000`, `1262304000.25`, `2010-01-01`, `2010-01-01 00:00`,
/// `2010-01-01T00:00:00`, `2010-01-01T09:30:00.125Z`, `2010-01-01 09:30:00+01:00` (or `+0100`,
/// `+01`). A date and time without a zone is UTC.
enum CSVTime {
    /// Unix seconds, or why the text is not a time.
    static func parse(_ text: UnsafeRawBufferPointer) -> Result<Double, Problem> {
        guard let first = text.first else { return .failure(.empty) }
        if first == UInt8(ascii: "-") || first == UInt8(ascii: "+") || first == UInt8(ascii: ".") || isDigit(first) && !looksLikeDate(text) {
            guard let seconds = DecimalText.parse(text) else { return .failure(.notATime) }
            return .success(seconds)
        }
        return isoDateTime(text).map(Result.success) ?? .failure(.notATime)
    }

    enum Problem: Error {
        case empty
        case notATime
    }

    /// `YYYY-` at the start: a date, not a number.
    private static func looksLikeDate(_ text: UnsafeRawBufferPointer) -> Bool {
        text.count >= 5 && text.prefix(4).allSatisfy(isDigit) && text[4] == UInt8(ascii: "-")
    }

    private static func isoDateTime(_ text: UnsafeRawBufferPointer) -> Double? {
        var index = 0
        func number(_ digits: Int) -> Int? {
            guard index + digits <= text.count else { return nil }
            var value = 0
            for offset in 0..<digits {
                let byte = text[index + offset]
                guard isDigit(byte) else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            index += digits
            return value
        }
        func skip(_ byte: UInt8) -> Bool {
            guard index < text.count, text[index] == byte else { return false }
            index += 1
            return true
        }
        guard let year = number(4), skip(UInt8(ascii: "-")), let month = number(2), skip(UInt8(ascii: "-")), let day = number(2),
            (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day)
        else { return nil }
        var seconds = Double(daysFromCivil(year: year, month: month, day: day)) * 86_400
        if index < text.count, text[index] == UInt8(ascii: "T") || text[index] == UInt8(ascii: " ") {
            index += 1
            guard let hour = number(2), hour < 24, skip(UInt8(ascii: ":")), let minute = number(2), minute < 60 else { return nil }
            seconds += Double(hour * 3_600 + minute * 60)
            if skip(UInt8(ascii: ":")) {
                guard let second = number(2), second < 61 else { return nil }
                seconds += Double(second)
                if skip(UInt8(ascii: ".")) || skip(UInt8(ascii: ",")) {
                    var scale = 0.1
                    var fraction = 0.0
                    let start = index
                    while index < text.count, isDigit(text[index]) {
                        fraction += Double(text[index] - UInt8(ascii: "0")) * scale
                        scale /= 10
                        index += 1
                    }
                    guard index > start else { return nil }
                    // Whole milliseconds, as the rest of Rollcast writes times.
                    seconds += (fraction * 1_000).rounded() / 1_000
                }
            }
            if skip(UInt8(ascii: "Z")) || skip(UInt8(ascii: "z")) {
                // UTC
            } else if index < text.count, text[index] == UInt8(ascii: "+") || text[index] == UInt8(ascii: "-") {
                let sign = text[index] == UInt8(ascii: "-") ? -1.0 : 1.0
                index += 1
                guard let hours = number(2), hours <= 14 else { return nil }
                _ = skip(UInt8(ascii: ":"))
                let minutes = index < text.count ? number(2) : 0
                guard let minutes, minutes < 60 else { return nil }
                seconds -= sign * Double(hours * 3_600 + minutes * 60)
            }
        }
        return index == text.count ? seconds : nil
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    private static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
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
