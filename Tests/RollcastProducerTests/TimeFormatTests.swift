import Foundation
import Testing

@testable import RollcastProducer

/// Time values in each form the replay reads, against times computed with Foundation's calendar.
@Suite("Reading replayed times")
struct TimeFormatTests {
    /// Unix seconds of a date and time in `zone`, by Foundation's Gregorian calendar.
    static func expected(_ year: Int, _ month: Int, _ day: Int, _ hour: Int = 0, _ minute: Int = 0, _ second: Int = 0, zone: String = "UTC") -> Double {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: zone)!
        let date = calendar.date(from: DateComponents(year: year, month: month, day: day, hour: hour, minute: minute, second: second))!
        return date.timeIntervalSince1970
    }

    /// What the column reader makes of one value: the formats it fits, and its time in the first.
    static func read(_ text: String, zone: String = "UTC", unit: TimeUnit = .s, pattern: String? = nil) throws -> (formats: Int, seconds: Double)? {
        var column = TimeColumn(pattern: try pattern.map { try TimePattern($0) }, zone: LocalTimeZone(TimeZone(identifier: zone)!), unit: unit)
        var text = text
        let result = text.withUTF8 { column.read(UnsafeRawBufferPointer($0), line: 2) }
        guard case .success(let reading) = result else { return nil }
        return (column.formats.count, reading.seconds)
    }

    @Test("the built-in forms, each read in the one order it fits", arguments: [
        // ISO-8601 and Unix, as before
        ("2010-01-01", expected(2010, 1, 1)),
        ("2010-01-01T09:30:00Z", expected(2010, 1, 1, 9, 30)),
        ("2010-01-01 09:30:15.25", expected(2010, 1, 1, 9, 30, 15) + 0.25),
        ("2010-01-01T10:30:00+01:00", expected(2010, 1, 1, 9, 30)),
        ("1262304000.125", 1_262_304_000.125),
        // YYYY/MM/DD and YYYY.MM.DD, with an optional time
        ("2012/01/02", expected(2012, 1, 2)),
        ("2012/1/2", expected(2012, 1, 2)),
        ("2012.01.02", expected(2012, 1, 2)),
        ("2012/01/02 17:45", expected(2012, 1, 2, 17, 45)),
        ("2012.01.02 17:45:09", expected(2012, 1, 2, 17, 45, 9)),
        // month names
        ("Jan 1 2000", expected(2000, 1, 1)),
        ("1 Jan 2000", expected(2000, 1, 1)),
        ("January 1, 2000", expected(2000, 1, 1)),
        ("01-Jan-2000", expected(2000, 1, 1)),
        ("Sept 30 2001", expected(2001, 9, 30)),
        ("DEC 31 1999 11:59 PM", expected(1999, 12, 31, 23, 59)),
        ("Mar 5, 2020 12:00 AM", expected(2020, 3, 5)),
        // RFC 2822
        ("Sat, 01 Jan 2000 09:30:00 +0000", expected(2000, 1, 1, 9, 30)),
        ("Tue, 29 Feb 2000 23:59:59 -0500", expected(2000, 3, 1, 4, 59, 59)),
        ("1 Jan 2000 09:30:00 GMT", expected(2000, 1, 1, 9, 30)),
        ("Mon, 03 Jan 2000 09:30:00 EST", expected(2000, 1, 3, 14, 30)),
        // leap days, the last second of a day, a leap second, offsets of half an hour
        ("2024-02-29", expected(2024, 2, 29)),
        ("29 Feb 2000", expected(2000, 2, 29)),
        ("2016-12-31T23:59:59Z", expected(2016, 12, 31, 23, 59, 59)),
        ("2016-12-31T23:59:60Z", expected(2017, 1, 1)),
        ("2010-01-01T15:00:00+05:30", expected(2010, 1, 1, 9, 30)),
        ("2010-01-01T05:15:00-04:15", expected(2010, 1, 1, 9, 30)),
        // day first: a day past 12 says so
        ("13/02/2000", expected(2000, 2, 13)),
        ("02/13/2000", expected(2000, 2, 13)),
        ("31.12.1999", expected(1999, 12, 31)),
    ])
    func forms(text: String, seconds: Double) throws {
        let read = try #require(try Self.read(text), "\(text) was not read")
        #expect(read.seconds == seconds, "\(text)")
        #expect(read.formats == 1, "\(text) fits \(read.formats) formats")
    }

    @Test("values that are no date in any form", arguments: ["yesterday", "2010-02-30", "2023-02-29", "Jan 32 2000", "13/13/2000", "2010-01-01T25:00", "Foo 1 2000", "01 02 2000", "2010-01/02"])
    func refused(text: String) throws {
        #expect(try Self.read(text) == nil, "\(text)")
    }

    @Test("01/02/2000 fits day first and month first; both readings are kept")
    func twoOrders() throws {
        var column = TimeColumn(pattern: nil, zone: .utc, unit: .s)
        var first = "01/02/2000"
        let reading = try first.withUTF8 { try column.read(UnsafeRawBufferPointer($0), line: 2).get() }
        #expect(reading.seconds == Self.expected(2000, 2, 1) && reading.alternative == Self.expected(2000, 1, 2))
        #expect(column.ambiguity == "t '01/02/2000' (line 2) could be day/month/year or month/day/year, and every row reads both ways: give --time-format '%d/%m/%Y' or --time-format '%m/%d/%Y'")
        // 13 can only be a day: month first goes.
        var second = "13/02/2000"
        let next = try second.withUTF8 { try column.read(UnsafeRawBufferPointer($0), line: 3).get() }
        #expect(next.seconds == Self.expected(2000, 2, 13) && next.dropped == .second)
        #expect(column.ambiguity == nil && column.formats == [.text(.dayMonthYear)])
        // Once chosen, a value of another form is a bad row.
        var third = "2000-02-14"
        let refusal = third.withUTF8 { column.read(UnsafeRawBufferPointer($0), line: 4) }
        guard case .failure(let problem) = refusal else { Issue.record("2000-02-14 was read"); return }
        #expect(problem.reason == "t '2000-02-14' is not in the column's format, day month year as in '01/02/2000' on line 2")
    }

    @Test("a zone name applies to times without a zone, through its clock changes")
    func zones() throws {
        // New York, 2021: clocks went forward at 02:00 on 14 March and back at 02:00 on 7 November.
        let ny = "America/New_York"
        #expect(try Self.read("2021-03-14 01:30", zone: ny)?.seconds == Self.expected(2021, 3, 14, 6, 30))  // EST, -5
        #expect(try Self.read("2021-03-14 03:30", zone: ny)?.seconds == Self.expected(2021, 3, 14, 7, 30))  // EDT, -4
        // 02:30 never happened: read with the offset before the change, as Python's fold=0 does.
        #expect(try Self.read("2021-03-14 02:30", zone: ny)?.seconds == Self.expected(2021, 3, 14, 7, 30))
        // 01:30 happened twice (EDT, then EST): the first.
        #expect(try Self.read("2021-11-07 01:30", zone: ny)?.seconds == Self.expected(2021, 11, 7, 5, 30))
        #expect(try Self.read("2021-11-07 03:00", zone: ny)?.seconds == Self.expected(2021, 11, 7, 8, 0))
        #expect(try Self.read("Jul 4 2021", zone: ny)?.seconds == Self.expected(2021, 7, 4, zone: ny))
        // A zone in the value wins; Unix seconds have none to apply.
        #expect(try Self.read("2021-07-04T12:00:00Z", zone: ny)?.seconds == Self.expected(2021, 7, 4, 12))
        #expect(try Self.read("1625400000", zone: ny)?.seconds == 1_625_400_000)
        #expect(try Self.read("2010-01-01 15:00", zone: "Asia/Kolkata")?.seconds == Self.expected(2010, 1, 1, 9, 30))
    }

    @Test("the hour cache gives the same answers as asking Foundation every time, across a year of hours")
    func zoneCache() {
        var cached = LocalTimeZone(TimeZone(identifier: "Europe/Berlin")!)
        let start = Self.expected(2021, 1, 1)
        for hour in 0..<(366 * 24) {
            for minute in [0, 17, 59] {
                let local = start + Double(hour * 3_600 + minute * 60)
                var fresh = LocalTimeZone(TimeZone(identifier: "Europe/Berlin")!)
                #expect(cached.utc(fromLocal: local) == fresh.utc(fromLocal: local), "local \(local)")
            }
        }
    }

    @Test("numeric times in a unit", arguments: [
        ("1262304000123", TimeUnit.ms, 1_262_304_000.123),
        ("1262304000123456", .us, 1_262_304_000.123456),
        ("1262304000123456789", .ns, 1_262_304_000.1234567),
        ("1262304000", .s, 1_262_304_000),
    ])
    func units(text: String, unit: TimeUnit, seconds: Double) throws {
        let read = try #require(try Self.read(text, unit: unit))
        #expect(abs(read.seconds - seconds) < 1e-6)
    }

    @Test("--time-format patterns", arguments: [
        ("%d/%m/%Y", "01/02/2000", expected(2000, 2, 1)),
        ("%m/%d/%Y %I:%M %p", "12/31/1999 11:59 PM", expected(1999, 12, 31, 23, 59)),
        ("%m/%d/%Y %I:%M %p", "1/1/2000 12:05 am", expected(2000, 1, 1, 0, 5)),
        ("%Y%m%d", "20000102", expected(2000, 1, 2)),
        ("%Y%m%d %H%M%S", "20000102 093000", expected(2000, 1, 2, 9, 30)),
        ("%d-%b-%y", "05-Mar-99", expected(1999, 3, 5)),
        ("%d-%b-%y", "05-Mar-21", expected(2021, 3, 5)),
        ("%Y-%j", "2000-060", expected(2000, 2, 29)),
        ("%Y", "1987", expected(1987, 1, 1)),
        ("%A %d %B %Y", "Saturday 01 January 2000", expected(2000, 1, 1)),
        ("%F %T.%f", "2000-01-02 03:04:05.5", expected(2000, 1, 2, 3, 4, 5) + 0.5),
        ("%Y-%m-%dT%H:%M:%S%z", "2000-01-02T03:04:05+0530", expected(2000, 1, 1, 21, 34, 5)),
        ("%s", "946684800.25", 946_684_800.25),
        ("%d.%m.%Y %H:%M", "02.01.2000  09:30", expected(2000, 1, 2, 9, 30)),
    ])
    func patterns(pattern: String, text: String, seconds: Double) throws {
        let read = try #require(try Self.read(text, pattern: pattern), "\(pattern) did not read \(text)")
        #expect(read.seconds == seconds)
    }

    @Test("values a pattern does not read", arguments: [
        ("%d/%m/%Y", "2000-01-02"), ("%d/%m/%Y", "32/01/2000"), ("%d/%m/%Y", "01/02/2000 extra"), ("%I:%M %p %Y", "13:00 PM 2000"), ("%Y-%j", "2001-366"),
    ])
    func patternRefusals(pattern: String, text: String) throws {
        #expect(try Self.read(text, pattern: pattern) == nil)
    }

    @Test("patterns that cannot read a time are refused with a reason", arguments: [
        ("%H:%M", "--time-format '%H:%M' has no year (%Y or %y) and no %s: a time needs a date"),
        ("%Y-%m-%d %Q", "--time-format '%Y-%m-%d %Q': %Q is not a directive the replay reads; it reads %Y %y %m %d %e %j %H %I %p %M %S %f %b %B %a %A %z %Z %s %T %F %D %R %%"),
        ("%Y %", "--time-format '%Y %' ends with a lone %"),
        ("%Y %I:%M", "--time-format '%Y %I:%M' has %I (a 12-hour clock) without %p (AM or PM)"),
    ])
    func badPatterns(pattern: String, reason: String) {
        #expect(throws: TimePattern.PatternError.self) { try TimePattern(pattern) }
        do {
            _ = try TimePattern(pattern)
        } catch {
            #expect(error.description == reason)
        }
    }
}
