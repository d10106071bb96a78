/// The time column of one file, its format chosen from the column as a whole.
///
/// Without `--time-format` the first value names the formats it could be in (usually one;
/// `01/02/2010` both day-first and month-first). Every later value is read in each format still
/// possible, and a format that fails a value is dropped; a value that no remaining format reads
/// is a bad row (all rows must agree). While two formats remain the file keeps both readings of
/// every row, so nothing is read twice; if two remain at the end, the column is ambiguous and
/// the file is refused.
struct TimeColumn {
    /// The formats every value so far fits, best first; empty until a first value is read.
    private(set) var formats: [TimeFormat]
    private var zone: LocalTimeZone
    private let unit: TimeUnit
    /// The first value read, and its line: the column's example in messages and the log.
    private(set) var example: (text: String, line: Int)?

    init(pattern: TimePattern?, zone: LocalTimeZone, unit: TimeUnit) {
        formats = pattern.map { [.pattern($0)] } ?? []
        self.zone = zone
        self.unit = unit
    }

    /// One value's time in each remaining format.
    struct Reading {
        var seconds: Double
        /// The value in the second format, while two remain.
        var alternative: Double?
        /// A format this value dropped: the rows kept so far must keep that format's readings no more.
        var dropped: Dropped?
    }

    enum Dropped {
        /// The first format went: the second's readings become the rows' times.
        case first
        /// The second format went: its readings are forgotten.
        case second
    }

    struct Problem: Error {
        let reason: String
    }

    mutating func read(_ text: UnsafeRawBufferPointer, line: Int) -> Result<Reading, Problem> {
        guard !text.isEmpty else { return .failure(Problem(reason: "t is empty")) }
        if formats.isEmpty {
            formats = TimeFormat.candidates(for: text, unit: unit).filter { $0.seconds(text, zone: &zone) != nil }
            guard !formats.isEmpty else { return .failure(Problem(reason: "t '\(Self.shown(text))' is \(Self.unreadable)")) }
        }
        if example == nil { example = (Self.shown(text), line) }
        guard let first = formats[0].seconds(text, zone: &zone) else {
            guard formats.count == 2, let second = formats[1].seconds(text, zone: &zone) else { return .failure(mismatch(text)) }
            formats.removeFirst()
            return .success(Reading(seconds: second, dropped: .first))
        }
        guard formats.count == 2 else { return .success(Reading(seconds: first)) }
        guard let second = formats[1].seconds(text, zone: &zone) else {
            formats.removeLast()
            return .success(Reading(seconds: first, dropped: .second))
        }
        return .success(Reading(seconds: first, alternative: second))
    }

    /// The format chosen, described, once the column is read; `nil` before any value.
    var chosen: String? {
        guard let format = formats.first, var example = example?.text else { return nil }
        return example.withUTF8 { format.describe(example: UnsafeRawBufferPointer($0)) }
    }

    /// Why the column cannot be read as a whole: two formats fit every value.
    var ambiguity: String? {
        guard formats.count == 2, var example = example else { return nil }
        let patterns = example.text.withUTF8 { text in
            formats.compactMap { format -> String? in
                guard case .text(let order) = format, let shape = DateTimeText.shape(of: UnsafeRawBufferPointer(text), order) else { return nil }
                return "--time-format '\(DateTimeText.pattern(shape, order))'"
            }
        }
        return "t '\(example.text)' (line \(example.line)) could be day/month/year or month/day/year, and every row reads both ways: give \(patterns.joined(separator: " or "))"
    }

    private func mismatch(_ text: UnsafeRawBufferPointer) -> Problem {
        guard var example, let format = formats.first else { return Problem(reason: "t '\(Self.shown(text))' is \(Self.unreadable)") }
        if case .pattern(let pattern) = format { return Problem(reason: "t '\(Self.shown(text))' does not match --time-format '\(pattern)'") }
        let described = example.text.withUTF8 { format.describe(example: UnsafeRawBufferPointer($0)) }
        return Problem(reason: "t '\(Self.shown(text))' is not in the column's format, \(described) as in '\(example.text)' on line \(example.line)")
    }

    static let unreadable =
        "not a time the replay reads: Unix seconds, ISO-8601 (2010-01-01T09:30:00Z), 2010/01/01, a month's name (Jan 1 2010, 1 Jan 2010, 01-Jan-2010) or RFC 2822; give --time-format for another form"

    static func shown(_ text: UnsafeRawBufferPointer) -> String {
        String(decoding: text.prefix(40), as: UTF8.self)
    }
}
