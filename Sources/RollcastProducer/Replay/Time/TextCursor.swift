/// A position in the bytes of one time value, with the small reads every time reader needs.
///
/// Each read either consumes what it matched and returns it, or leaves the position where it
/// was and returns `nil`, so a reader can try one form and then another.
struct TextCursor {
    let text: UnsafeRawBufferPointer
    var index = 0

    init(_ text: UnsafeRawBufferPointer) {
        self.text = text
    }

    var atEnd: Bool { index == text.count }

    var next: UInt8? { index < text.count ? text[index] : nil }

    /// A number of `minimum` to `maximum` ASCII digits, as many as there are.
    mutating func digits(_ minimum: Int, _ maximum: Int) -> Int? {
        var value = 0
        var count = 0
        while count < maximum, index + count < text.count, Self.isDigit(text[index + count]) {
            value = value * 10 + Int(text[index + count] &- UInt8(ascii: "0"))
            count += 1
        }
        guard count >= minimum else { return nil }
        index += count
        return value
    }

    /// The digits after a decimal point, as a fraction in [0, 1); at least one digit.
    mutating func fraction() -> Double? {
        var scale = 0.1
        var value = 0.0
        let start = index
        while index < text.count, Self.isDigit(text[index]) {
            value += Double(text[index] &- UInt8(ascii: "0")) * scale
            scale /= 10
            index += 1
        }
        return index > start ? value : nil
    }

    mutating func skip(_ byte: UInt8) -> Bool {
        guard index < text.count, text[index] == byte else { return false }
        index += 1
        return true
    }

    /// Skips spaces and tabs; returns how many.
    @discardableResult
    mutating func skipSpaces() -> Int {
        let start = index
        while index < text.count, text[index] == 0x20 || text[index] == 0x09 { index += 1 }
        return index - start
    }

    /// A run of ASCII letters.
    mutating func letters() -> UnsafeRawBufferPointer? {
        let start = index
        while index < text.count, Self.isLetter(text[index]) { index += 1 }
        return index > start ? UnsafeRawBufferPointer(rebasing: text[start..<index]) : nil
    }

    /// A month's name (`Jan`, `January`, `Sept`, any case, an abbreviation optionally followed
    /// by a point): its number.
    mutating func monthName() -> Int? {
        let start = index
        guard let word = letters(), let month = CalendarNames.month(word) else {
            index = start
            return nil
        }
        if word.count <= 4 { _ = skip(UInt8(ascii: ".")) }
        return month
    }

    /// A weekday's name (`Sat`, `Saturday`), which is read and not checked against the date.
    mutating func weekdayName() -> Bool {
        let start = index
        guard let word = letters(), CalendarNames.isWeekday(word) else {
            index = start
            return false
        }
        return true
    }

    /// `AM` or `PM` (any case, also `a.m.`): whether it is PM.
    mutating func meridiem() -> Bool? {
        let start = index
        guard let first = next.map({ $0 | 0x20 }), first == UInt8(ascii: "a") || first == UInt8(ascii: "p") else { return nil }
        index += 1
        _ = skip(UInt8(ascii: "."))
        guard let m = next, m | 0x20 == UInt8(ascii: "m") else {
            index = start
            return nil
        }
        index += 1
        _ = skip(UInt8(ascii: "."))
        return first == UInt8(ascii: "p")
    }

    /// A zone written in the value: `Z`, `UTC`, `GMT`, `UT`, RFC 2822's North American names
    /// (`EST` … `PDT`), or an offset `+hh`, `+hhmm`, `+hh:mm`: seconds east of UTC.
    mutating func zone() -> Int? {
        let start = index
        if let sign = next, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
            index += 1
            guard let hours = digits(2, 2), hours <= 14 else {
                index = start
                return nil
            }
            var minutes = 0
            if skip(UInt8(ascii: ":")) {
                guard let value = digits(2, 2) else {
                    index = start
                    return nil
                }
                minutes = value
            } else if let value = digits(2, 2) {
                minutes = value
            }
            guard minutes < 60 else {
                index = start
                return nil
            }
            return (sign == UInt8(ascii: "-") ? -1 : 1) * (hours * 3_600 + minutes * 60)
        }
        if let word = letters(), let offset = CalendarNames.zoneOffset(word) { return offset }
        index = start
        return nil
    }

    static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    static func isLetter(_ byte: UInt8) -> Bool {
        let lower = byte | 0x20
        return lower >= UInt8(ascii: "a") && lower <= UInt8(ascii: "z")
    }
}
