import Foundation
import Testing

@testable import RollcastProducer

@Suite("Reading a replay file")
struct ReplayFileTests {
    static let now = 1_796_131_255.0

    /// Writes `text` to a file named `name` and reads it.
    func read(_ text: String, name: String = "ticks.csv", skipBad: Bool = false, maxSymbols: Int = 1_000, options: ReplayOptions = ReplayOptions()) throws
        -> ReplayData
    {
        try read(files: [(name, Data(text.utf8))], skipBad: skipBad, maxSymbols: maxSymbols, options: options)
    }

    /// Writes each file into a new folder and reads them in the order given.
    func read(files: [(name: String, bytes: Data)], folder: Bool = false, skipBad: Bool = false, maxSymbols: Int = 1_000, options: ReplayOptions = ReplayOptions()) throws
        -> ReplayData
    {
        let directory = "/tmp/rcr-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for file in files { try file.bytes.write(to: URL(fileURLWithPath: "\(directory)/\(file.name)")) }
        var options = options
        options.skipBad = skipBad
        do {
            return try ReplayData(paths: folder ? [directory] : files.map { "\(directory)/\($0.name)" }, options: options, maxSymbols: maxSymbols, now: Self.now)
        } catch {
            // The folder differs per run: report the part after it.
            throw Reason(text: error.description.replacingOccurrences(of: "\(directory)/\(files.count == 1 ? files[0].name : "")", with: "FILE"))
        }
    }

    struct Reason: Error, Equatable {
        let text: String
    }

    func rows(_ data: ReplayData) -> [String] {
        let rows = data.rows
        return (0..<rows.count).map { "\(rows.symbols[Int(rows.symbolIndex[$0])]) \(rows.times[$0]) \(rows.prices[$0]) \(rows.volumes[$0])" }
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
        #expect(try read("t,symbol,price\n\(text),A,1\n").rows.times == [seconds])
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
        ("t,symbol,price\nyesterday,A,1\n", "FILE:2: t 'yesterday' is \(TimeColumn.unreadable)"),
        ("t,symbol,price\n2010-02-30,A,1\n", "FILE:2: t '2010-02-30' is \(TimeColumn.unreadable)"),
        ("t,symbol,price\n2010-01-01,A,1\n2010-01-02 10:00,A,1\nJan 3 2010,A,1\n", "FILE:4: t 'Jan 3 2010' is not in the column's format, ISO-8601 (year month day) as in '2010-01-01' on line 2"),
        ("t,symbol,price\n01/02/2010,A,1\n03/04/2010,A,1\n", "FILE: t '01/02/2010' (line 2) could be day/month/year or month/day/year, and every row reads both ways: give --time-format '%d/%m/%Y' or --time-format '%m/%d/%Y'"),
        ("t,symbol,price\n1262304000000,A,1\n", "FILE:2: t 1262304000000 looks like milliseconds; give --time-unit ms to read numeric times in milliseconds"),
        ("t,symbol,price\n1,A,NaN\n", "FILE:2: price must be a finite number"),
        ("t,symbol,price,volume\n1,A,1,-5\n", "FILE:2: volume must be a number of 0 or more"),
        ("t,symbol,price\n1,A B,1\n", "FILE:2: symbol 'A B' may hold only letters, digits and . _ - : /"),
        ("t,symbol,price\n1,A\n", "FILE:2: the row has 2 fields, fewer than the 3 its columns need"),
        ("t,symbol,price\n1,\"A,1\n", "FILE:2: a quoted field is never closed"),
        ("t,symbol,price\n1,\"A\"x,1\n", "FILE:2: text after a closing quote"),
        ("symbol,price\nA,1\n", "FILE:1: no t column: the header must name t (or time, timestamp, date, datetime, or a date and a time column) and the values (price, or close, last, value; or --columns)"),
        ("date,timestamp,symbol,price\n1,2,A,1\n", "FILE:1: columns 'date' and 'timestamp' could each be t; name one of them t"),
        ("t,symbol,close,last\n1,A,1,1\n", "FILE:1: columns 'close' and 'last' could each be price; name one of them price"),
        ("t,symbol,price,note\n1,A,1,x\n2,A,2,y\n3,A,z,\n", "FILE:4: price 'z' is not a number"),
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

    @Test("a wide table: each numeric column is a series named after it; text columns are left out; an empty cell is a gap")
    func wideTable() throws {
        let text = "date,precipitation,temp_max,temp_min,wind,weather\n2012/01/01,0.0,12.8,5.0,4.7,drizzle\n2012/01/02,10.9,,2.8,4.5,rain\n"
        let data = try read(text, name: "seattle-weather.csv")
        #expect(data.symbols == ["precipitation", "temp_max", "temp_min", "wind"])
        #expect(rows(data) == [
            "precipitation 1325376000.0 0.0 0.0", "temp_max 1325376000.0 12.8 0.0", "temp_min 1325376000.0 5.0 0.0", "wind 1325376000.0 4.7 0.0",
            "precipitation 1325462400.0 10.9 0.0", "temp_min 1325462400.0 2.8 0.0", "wind 1325462400.0 4.5 0.0",
        ])
        #expect(data.files[0].series == ["precipitation", "temp_max", "temp_min", "wind"])
        #expect(data.files[0].timeFormat == "year month day")
    }

    @Test("a wide table with a symbol column: series are symbol:column; --columns chooses, in any case")
    func wideWithSymbols() throws {
        let text = "Date,Ticker,Open,High,Low,Close\n2020-01-02,AAA,1,2,0.5,1.5\n2020-01-02,BBB,10,20,5,15\n"
        let data = try read(text, options: ReplayOptions(columns: ["open", "CLOSE"]))
        #expect(rows(data) == ["AAA:Open 1577923200.0 1.0 0.0", "AAA:Close 1577923200.0 1.5 0.0", "BBB:Open 1577923200.0 10.0 0.0", "BBB:Close 1577923200.0 15.0 0.0"])
    }

    @Test("a date and a time column are read together; --symbol names a one-series file")
    func dateAndTime() throws {
        let data = try read("date,time,price\n2020-01-02,09:30,1\n2020-01-02,16:00:05,2\n", options: ReplayOptions(symbol: "SPOT"))
        #expect(rows(data) == ["SPOT 1577957400.0 1.0 0.0", "SPOT 1577980805.0 2.0 0.0"])
        let wide = try read("date,a,b\n2020-01-02,1,2\n", options: ReplayOptions(symbol: "W"))
        #expect(wide.symbols == ["W:a", "W:b"])
        let one = try read("date,a\n2020-01-02,1\n", options: ReplayOptions(symbol: "W"))
        #expect(one.symbols == ["W"])
    }

    @Test("a time column named as data sites name it: a word of its name says time or date")
    func wordedTimeColumns() throws {
        let fred = try read(",observation_date,CPIAUCSL\n0,1947-01-01,21.48\n1,1947-02-01,21.62\n")
        #expect(rows(fred) == ["CPIAUCSL -725846400.0 21.48 0.0", "CPIAUCSL -723168000.0 21.62 0.0"])
        #expect(try read("Date Time,price\n2020-01-02 09:30,1\n", name: "X.csv").rows.times == [1_577_957_400])
        #expect(throws: Reason(text: "FILE:1: columns 'start_time' and 'end_time' could each be t; name one of them t")) {
            try read("start_time,end_time,price\n1,2,3\n")
        }
        // `update` is not `date`.
        #expect(throws: Reason(text: "FILE:1: no t column: the header must name t (or time, timestamp, date, datetime, or a date and a time column) and the values (price, or close, last, value; or --columns)")) {
            try read("update_count,price\n1,2\n")
        }
    }

    @Test("wide tables refuse what cannot be a series", arguments: [
        ("date,a,b\n2020-01-01,1,2\n2020-01-02,x,2\n", ReplayOptions(), "FILE:3: a 'x' is not a number"),
        ("date,a\n2020-01-01,1\n", ReplayOptions(columns: ["b"]), "FILE:1: no column 'b' (--columns); the header has 'date', 'a'"),
        ("date,a\n2020-01-01,1\n", ReplayOptions(columns: ["date"]), "FILE:1: column 'date' (--columns) holds the time, not values"),
        ("date,name\n2020-01-01,x\n", ReplayOptions(), "FILE: holds no rows to replay"),
        ("date\n2020-01-01\n", ReplayOptions(), "FILE:1: no price column and no other column to chart: the header must name price (or close, last, value), or columns of numbers"),
        ("t,symbol,price\n1,A,1\n", ReplayOptions(symbol: "S"), "FILE:1: has a symbol column; --symbol names the series of files without one"),
        ("date,symbol,a_long_column_name_here\n2020-01-01,ABCDEFGHIJ,1\n", ReplayOptions(), "FILE:2: series 'ABCDEFGHIJ:a_long_column_name_here' (symbol:column) is longer than 32 bytes"),
    ])
    func wideRefusals(text: String, options: ReplayOptions, reason: String) {
        #expect(throws: Reason(text: reason)) { try read(text, options: options) }
    }

    @Test("a gzip file reads as its plain twin, also in many blocks and members; a cut one is refused")
    func gzip() throws {
        var text = "t,symbol,price,volume,note\n"
        for row in 0..<120_000 { text += "\(1_262_304_000 + row),S\(row % 7),\(Double(row % 1000) / 8),\(row % 5),\"a, \"\"quoted\"\"\nnote\"\r\n" }
        let plain = try read(text)
        let packed = try gzip(Data(text.utf8))
        #expect(packed.count < text.utf8.count / 5)
        let unpacked = try read(files: [("ticks.csv.gz", packed)])
        #expect(rows(unpacked) == rows(plain))
        // Two gzip members, as `cat a.gz b.gz` makes.
        let half = text.utf8.count / 2
        let cut = text.utf8.index(text.utf8.startIndex, offsetBy: half)
        let newline = text.utf8[cut...].firstIndex(of: 0x0A)!
        let members = try gzip(Data(text.utf8[..<text.utf8.index(after: newline)])) + gzip(Data(text.utf8[text.utf8.index(after: newline)...]))
        #expect(rows(try read(files: [("ticks.gz", members)])) == rows(plain))
        #expect(throws: Reason(text: "FILE: ends before its compressed data does (a gzip file cut short)")) {
            try read(files: [("ticks.csv.gz", packed.prefix(packed.count - 100))])
        }
        #expect(throws: Reason(text: "FILE: is named .gz but is not a gzip file")) { try read(files: [("ticks.csv.gz", Data(text.utf8))]) }
    }

    @Test("several files merge in time order, each read by its own rules; a folder stands for its .csv and .gz files")
    func severalFiles() throws {
        let first = ("AAA.csv", Data("date,close\nJan 1 2000,1\nJan 3 2000,3\n".utf8))
        let second = ("b.csv", Data("t,symbol,price\n2000-01-02,BBB,2\n2000-01-03,BBB,33\n".utf8))
        let merged = try read(files: [first, second])
        #expect(rows(merged) == ["AAA 946684800.0 1.0 0.0", "BBB 946771200.0 2.0 0.0", "AAA 946857600.0 3.0 0.0", "BBB 946857600.0 33.0 0.0"])
        #expect(merged.files.map(\.timeFormat) == ["month name day year", "ISO-8601 (year month day)"])
        let folder = try read(files: [second, first, ("notes.txt", Data("not a csv".utf8))], folder: true)
        #expect(rows(folder) == rows(merged))
        #expect(folder.paths.map { ($0 as NSString).lastPathComponent } == ["AAA.csv", "b.csv"])
    }

    @Test("reading in blocks gives the records reading whole does, wherever the blocks end")
    func blocks() throws {
        let text = "\u{FEFF}t,\"sym\"\"bol\",price\r\n\r\n1,\"A\r\nB\",2\n\n2,\"C\"\"\",3\r\n3,D,4"
        let bytes = Array(text.utf8)
        func records(_ blocks: [Int]) throws -> [String] {
            var result: [String] = []
            var fields: [CSVReader.Field] = []
            var pending: [UInt8] = []
            var line = 1
            var start = 0
            var fileStart = true
            for end in blocks + [bytes.count] {
                pending += bytes[start..<end]
                start = end
                let final = end == bytes.count
                let consumed = try pending.withUnsafeBytes { buffer in
                    var reader = CSVReader(bytes: buffer, final: final, line: line, fileStart: fileStart)
                    while let recordLine = try reader.next(into: &fields) {
                        result.append("\(recordLine):" + fields.map { field in reader.withBytes(of: field) { String(decoding: $0, as: UTF8.self) } }.joined(separator: "|"))
                    }
                    line = reader.line
                    if reader.consumed > 0 { fileStart = false }
                    return reader.consumed
                }
                pending.removeFirst(consumed)
            }
            return result
        }
        let whole = try records([])
        #expect(whole == ["1:t|sym\"bol|price", "3:1|A\r\nB|2", "6:2|C\"|3", "7:3|D|4"])
        for split in 0...bytes.count {
            #expect(try records([split]) == whole, "split at \(split)")
        }
    }

    func gzip(_ data: Data) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/gzip")
        process.arguments = ["-c"]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        let writer = Thread { input.fileHandleForWriting.write(data); try? input.fileHandleForWriting.close() }
        writer.start()
        let packed = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return packed
    }
}
