import Foundation
import Testing

@testable import RollcastProducer

@Suite("Reading a replay file")
struct ReplayFileTests {
    static let now = 1_796_131_255.0

    /// Writes `text` to a file named `name` and reads it.
    func read(_ text: String, name: String = "ticks.csv", skipBad: Bool = false, maxSymbols: Int = 1_000) throws -> ReplayFile {
        let directory = "/tmp/rcr-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = "\(directory)/\(name)"
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        do {
            return try ReplayFile(path: path, skipBad: skipBad, maxSymbols: maxSymbols, now: Self.now)
        } catch {
            // The path differs per run: report the part after it.
            throw Reason(text: error.description.replacingOccurrences(of: path, with: "FILE"))
        }
    }

    struct Reason: Error, Equatable {
        let text: String
    }

    func rows(_ file: ReplayFile) -> [String] {
        (0..<file.rows).map { "\(file.symbols[Int(file.symbolIndex[$0])]) \(file.times[$0]) \(file.prices[$0]) \(file.volumes[$0])" }
    }

    @Test("columns in any order and case, extra columns ignored, volume optional")
    func columns() throws {
        let file = try read("Price,extra,SYMBOL,t\n10.5,x,AAA,1262304000\n11,y,BBB,1262304001.5\n")
        #expect(rows(file) == ["AAA 1262304000.0 10.5 0.0", "BBB 1262304001.5 11.0 0.0"])
    }

    @Test("ISO-8601 and numeric times; no zone means UTC", arguments: [
        ("2010-01-01", 1_262_304_000.0),
        ("2010-01-01 00:00", 1_262_304_000),
        ("2010-01-01T09:30", 1_262_338_200),
        ("2010-01-01T00:00:00Z", 1_262_304_000),
        ("2010-01-01 09:30:15.25", 1_262_338_215.25),
        ("2010-01-01T10:30:00+01:00", 1_262_338_200),
        ("2010-01-01T08:30:00-0100", 1_262_338_200),
        ("2000-02-29T00:00:00Z", 951_782_400),
        ("1262304000.125", 1_262_304_000.125),
    ])
    func times(text: String, seconds: Double) throws {
        #expect(try read("t,symbol,price\n\(text),A,1\n").times == [seconds])
    }

    @Test("quoted fields, doubled quotes, CRLF, blank lines and a byte order mark")
    func quotingAndLines() throws {
        let text = "\u{FEFF}\"t\",\"symbol\",price,\"note\"\r\n\r\n2010-01-01,\"A\",\"1.5\",\"a, \"\"quoted\"\"\r\nnote\"\r\n   \r\n2010-01-02,B,2,\r\n"
        let file = try read(text)
        #expect(rows(file) == ["A 1262304000.0 1.5 0.0", "B 1262390400.0 2.0 0.0"])
    }

    @Test("rows are replayed in time order; rows of one time keep the file's order")
    func sorted() throws {
        let file = try read("t,symbol,price\n3,A,3\n1,A,1\n2,B,2\n1,B,9\n")
        #expect(rows(file) == ["A 1.0 1.0 0.0", "B 1.0 9.0 0.0", "B 2.0 2.0 0.0", "A 3.0 3.0 0.0"])
    }

    @Test("a file without a symbol column is one series named after the file; common names stand in for t and price")
    func otherNames() throws {
        let file = try read("Date,Open,High,Low,Close,Adj Close,Volume\n2010-01-04,30.49,30.64,30.34,30.57,26.47,123432400\n", name: "AAPL.csv")
        #expect(rows(file) == ["AAPL 1262563200.0 30.57 123432400.0"])
    }

    @Test("a bad row stops the read with FILE:LINE: reason", arguments: [
        ("t,symbol,price\n1,A,1\n\n2,A,x\n", "FILE:4: price 'x' is not a number"),
        ("t,symbol,price\n1,A,\n", "FILE:2: price is empty"),
        ("t,symbol,price\nyesterday,A,1\n", "FILE:2: t 'yesterday' is neither Unix seconds nor an ISO-8601 date-time such as 2010-01-01 00:00 or 2010-01-01T00:00:00Z"),
        ("t,symbol,price\n2010-02-30,A,1\n", "FILE:2: t '2010-02-30' is neither Unix seconds nor an ISO-8601 date-time such as 2010-01-01 00:00 or 2010-01-01T00:00:00Z"),
        ("t,symbol,price\n1262304000000,A,1\n", "FILE:2: t 1262304000000 looks like milliseconds; t is Unix seconds"),
        ("t,symbol,price\n1,A,NaN\n", "FILE:2: price must be a finite number"),
        ("t,symbol,price,volume\n1,A,1,-5\n", "FILE:2: volume must be a number of 0 or more"),
        ("t,symbol,price\n1,A B,1\n", "FILE:2: symbol 'A B' may hold only letters, digits and . _ - : /"),
        ("t,symbol,price\n1,A\n", "FILE:2: the row has 2 fields, fewer than the 3 its columns need"),
        ("t,symbol,price\n1,\"A,1\n", "FILE:2: a quoted field is never closed"),
        ("t,symbol,price\n1,\"A\"x,1\n", "FILE:2: text after a closing quote"),
        ("symbol,price\nA,1\n", "FILE:1: no t column: the header must name t (or time, timestamp, date, datetime) and price (or close, last, value); symbol and volume are optional"),
        ("date,time,symbol,price\n1,2,A,1\n", "FILE:1: columns 'date' and 'time' could each be t; name one of them t"),
        ("", "FILE: is empty; it needs a header naming t, symbol and price"),
        ("t,symbol,price\n", "FILE: holds no rows to replay"),
    ])
    func badRows(text: String, reason: String) {
        #expect(throws: Reason(text: reason)) { try read(text) }
    }

    @Test("with skipBad, bad rows are left out and counted; the first is kept for the log")
    func skipBad() throws {
        let file = try read("t,symbol,price\n1,A,1\n2,A,x\n3,A,3\n4,,4\n", skipBad: true)
        #expect(rows(file) == ["A 1.0 1.0 0.0", "A 3.0 3.0 0.0"])
        #expect(file.skipped == 2)
        #expect(file.firstSkipped?.hasSuffix(":3: price 'x' is not a number") == true)
    }

    @Test("a file with more symbols than the producer holds is refused whole")
    func symbolLimit() {
        #expect(throws: Reason(text: "FILE: holds 3 symbols; the producer holds at most 2 (--max-symbols)")) {
            try read("t,symbol,price\n1,A,1\n1,B,1\n1,C,1\n", maxSymbols: 2)
        }
    }
}
