/// English month and weekday names and the zone names RFC 2822 allows, as files write them.
enum CalendarNames {
    static let months = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"]
    static let weekdays = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
    /// RFC 2822's zone names (section 4.3): universal time and the North American zones.
    static let zones: [(name: String, offset: Int)] = [
        ("z", 0), ("ut", 0), ("utc", 0), ("gmt", 0),
        ("est", -5 * 3_600), ("edt", -4 * 3_600), ("cst", -6 * 3_600), ("cdt", -5 * 3_600),
        ("mst", -7 * 3_600), ("mdt", -6 * 3_600), ("pst", -8 * 3_600), ("pdt", -7 * 3_600),
    ]

    private static let monthBytes = months.map { Array($0.utf8) }
    private static let weekdayBytes = weekdays.map { Array($0.utf8) }
    private static let zoneBytes = zones.map { (Array($0.name.utf8), $0.offset) }
    private static let sept = Array("sept".utf8)

    /// The month (1–12) that `word` names in full or by its first three letters (or `Sept`), in any case.
    static func month(_ word: UnsafeRawBufferPointer) -> Int? {
        for (index, name) in monthBytes.enumerated() where names(word, name) { return index + 1 }
        return matches(word, sept) ? 9 : nil
    }

    static func isWeekday(_ word: UnsafeRawBufferPointer) -> Bool {
        weekdayBytes.contains { names(word, $0) }
    }

    static func zoneOffset(_ word: UnsafeRawBufferPointer) -> Int? {
        zoneBytes.first { matches(word, $0.0) }?.1
    }

    /// `word` is `name` in full or its first three letters.
    private static func names(_ word: UnsafeRawBufferPointer, _ name: [UInt8]) -> Bool {
        guard word.count == 3 || word.count == name.count, word.count <= name.count else { return false }
        for index in 0..<word.count where word[index] | 0x20 != name[index] { return false }
        return true
    }

    /// Equal, ignoring the case of ASCII letters.
    private static func matches(_ word: UnsafeRawBufferPointer, _ lowercase: [UInt8]) -> Bool {
        guard word.count == lowercase.count else { return false }
        for index in 0..<word.count where word[index] | 0x20 != lowercase[index] { return false }
        return true
    }
}
