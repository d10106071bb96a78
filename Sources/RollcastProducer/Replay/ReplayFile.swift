import Foundation
import RollcastCore

/// One replayed CSV file (plain or gzip), read and checked row by row into ``ReplayRows``.
///
/// The header says what each column holds (``ReplayColumns``); the time column's format is
/// chosen from the column as a whole (``TimeColumn``); every tick passes the tick rules. A
/// file with no symbol column is one series named after the file (or `--symbol`).
struct ReplayFile {
    let path: String
    /// Ticks this file added.
    private(set) var ticks = 0
    /// Bad rows left out (with `skipBad`), and the first of them.
    private(set) var skipped = 0
    private(set) var firstSkipped: String?
    /// The time format chosen, described (`month day year`), and a value of the column.
    private(set) var timeFormat = ""
    private(set) var timeExample = ""
    /// Every series the file's values go to, or for wide tables the columns taken.
    private(set) var series: [String] = []

    typealias Failure = ReplayFailure

    /// Reads `path` into `rows`; on failure `rows` is left as it was.
    /// - Parameter now: the wall clock, to tell a `t` in milliseconds from one in seconds.
    init(path: String, options: ReplayOptions, now: Double, into rows: inout ReplayRows) throws(Failure) {
        self.path = path
        let bytes: ReplayBytes
        do {
            bytes = try ReplayBytes.open(path: path)
        } catch {
            throw Failure(path: path, line: nil, reason: error.reason)
        }
        let firstTick = rows.count
        var reader = Reader(path: path, options: options, now: now, firstTick: firstTick)
        var failure: Failure?
        var line = 1
        var fileStart = true
        do throws(ReplayBytes.Unreadable) {
            try bytes.forEachBlock { block, final in
                var csv = CSVReader(bytes: block, final: final, line: line, fileStart: fileStart)
                do throws(Failure) {
                    try reader.readRecords(&csv, into: &rows)
                } catch {
                    failure = error
                    return nil
                }
                line = csv.line
                // Until a block is consumed in part, the next starts where the file does (a byte order mark may still be there).
                if csv.consumed > 0 { fileStart = false }
                return csv.consumed
            }
        } catch {
            failure = Failure(path: path, line: nil, reason: error.reason)
        }
        if failure == nil { failure = reader.finish(into: &rows) }
        if let failure {
            rows.removeTicks(from: firstTick)
            throw failure
        }
        ticks = rows.count - firstTick
        skipped = reader.skipped
        firstSkipped = reader.firstSkipped
        timeFormat = reader.time.chosen ?? ""
        timeExample = reader.time.example?.text ?? ""
        series = reader.seriesNames
    }
}

extension ReplayFile {
    /// The state of reading one file: its columns once the header is read, the time column,
    /// and the wide columns' kinds.
    private struct Reader {
        let path: String
        let options: ReplayOptions
        let now: Double
        /// Where this file's ticks start in the rows.
        let firstTick: Int
        let rules = TickRules()
        /// The header's columns, once read (a placeholder before).
        var columns = ReplayColumns.none
        var headerRead = false
        var time: TimeColumn
        /// The second reading of each of this file's ticks' times while the time column is ambiguous.
        var alternativeTimes: [Double]?
        /// Per wide column: whether it holds numbers, once its first non-empty cell says.
        var wideKinds: [WideKind] = []
        /// The series of a file without a symbol column: one, or one per wide column (-1 until
        /// the column holds a number: a column of text names no series).
        var fixedSeries: [Int32] = []
        var fixedNames: [String] = []
        /// Per symbol of the file, its series per wide column (`<symbol>:<column>`), made as met.
        var wideSeries: [String: [Int32]] = [:]
        var fields: [CSVReader.Field] = []
        var joinedTime: [UInt8] = []
        /// A wide row's values: the column's position and its number.
        var values: [(position: Int, value: Double)] = []
        var skipped = 0
        var firstSkipped: String?

        enum WideKind { case unknown, numbers, text }

        init(path: String, options: ReplayOptions, now: Double, firstTick: Int) {
            self.path = path
            self.options = options
            self.now = now
            self.firstTick = firstTick
            time = TimeColumn(pattern: options.timePattern, zone: LocalTimeZone(options.timeZone), unit: options.timeUnit)
        }

        var seriesNames: [String] {
            columns.wide.indices.filter { wideKinds[$0] == .numbers }.map { columns.wide[$0].name }
        }

        mutating func readRecords(_ csv: inout CSVReader, into rows: inout ReplayRows) throws(Failure) {
            while true {
                let line: Int?
                do {
                    line = try csv.next(into: &fields)
                } catch {
                    guard options.skipBad, headerRead else { throw Failure(path: path, line: error.line, reason: error.reason) }
                    // A quote that never closes leaves nothing after it to read.
                    skip(line: error.line, reason: error.reason)
                    return
                }
                guard let line else { return }
                guard headerRead else {
                    try readHeader(csv, line: line, into: &rows)
                    continue
                }
                // A row of empty fields (a line of spaces or commas) is blank.
                if fields.allSatisfy({ field in csv.withBytes(of: field) { trimmingSpaces($0).isEmpty } }) { continue }
                if let reason = readRow(csv, line: line, into: &rows) {
                    guard options.skipBad else { throw Failure(path: path, line: line, reason: reason) }
                    skip(line: line, reason: reason)
                }
            }
        }

        /// At the end of the file: why it cannot be replayed, if it cannot.
        mutating func finish(into rows: inout ReplayRows) -> Failure? {
            guard headerRead else { return Failure(path: path, line: nil, reason: "is empty; it needs a header naming t, symbol and price") }
            if let ambiguity = time.ambiguity { return Failure(path: path, line: nil, reason: ambiguity) }
            guard rows.count > firstTick else { return Failure(path: path, line: nil, reason: "holds no rows to replay") }
            return nil
        }

        private mutating func readHeader(_ csv: CSVReader, line: Int, into rows: inout ReplayRows) throws(Failure) {
            let header = fields.map { field in csv.withBytes(of: field) { String(decoding: trimmingSpaces($0), as: UTF8.self) } }
            let columns: ReplayColumns
            do {
                columns = try ReplayColumns(header: header, chosen: options.columns)
            } catch {
                throw Failure(path: path, line: line, reason: error.reason)
            }
            if columns.symbol != nil, options.symbol != nil {
                throw Failure(path: path, line: line, reason: "has a symbol column; --symbol names the series of files without one")
            }
            var fileSymbol: String?
            if columns.symbol == nil { fileSymbol = options.symbol }
            if columns.symbol == nil, fileSymbol == nil { fileSymbol = try symbolFromFileName() }
            if columns.price != nil {
                if let fileSymbol { fixedSeries = [rows.intern(fileSymbol)] }
            } else {
                let wide = columns.wide
                wideKinds = Array(repeating: columns.chosen ? .numbers : .unknown, count: wide.count)
                if columns.symbol == nil {
                    // One column is the series `--symbol` names; several are `<symbol>:<column>` with --symbol, else the columns' names.
                    fixedNames = try wide.map { column throws(Failure) in
                        try validated(options.symbol.map { wide.count == 1 ? $0 : "\($0):\(column.name)" } ?? column.name, line: line)
                    }
                    fixedSeries = Array(repeating: -1, count: wide.count)
                }
            }
            self.columns = columns
            headerRead = true
        }

        /// Reads one row into `rows`; returns why it is a bad row, if it is (starting with the column at fault).
        private mutating func readRow(_ csv: CSVReader, line: Int, into rows: inout ReplayRows) -> String? {
            guard fields.count >= columns.needed else { return "the row has \(fields.count) fields, fewer than the \(columns.needed) its columns need" }
            let reading: TimeColumn.Reading
            switch readTime(csv, line: line) {
            case .success(let value): reading = value
            case .failure(let problem): return problem.reason
            }
            // Before anything else can refuse the row: a format this value dropped is gone for good.
            adopt(reading, into: &rows)
            let t = reading.seconds
            if t > now + 86_400, let unit = TickRules.likelyUnit(of: t, now: now) {
                let flag = unit.hasPrefix("milli") ? "ms" : unit.hasPrefix("micro") ? "us" : "ns"
                return "t \(JSONNumberWriter.string(t)) looks like \(unit); give --time-unit \(flag) to read numeric times in \(unit)"
            }
            // Any finite time: history before 1970 is history too.
            guard t.isFinite else { return "t must be a finite number" }
            if let priceColumn = columns.price {
                let text = Self.field(csv, fields, priceColumn)
                guard let price = DecimalText.parse(text) else { return text.isEmpty ? "price is empty" : "price '\(TimeColumn.shown(text))' is not a number" }
                var volume = 0.0
                if let volumeColumn = columns.volume, !Self.field(csv, fields, volumeColumn).isEmpty {
                    let text = Self.field(csv, fields, volumeColumn)
                    guard let parsed = DecimalText.parse(text) else { return "volume '\(TimeColumn.shown(text))' is not a number" }
                    volume = parsed
                }
                if let reason = rules.violation(price: price, volume: volume) { return reason }
                let series: Int32
                if let symbolColumn = columns.symbol {
                    do {
                        series = rows.intern(try Symbol.validated(utf8: Self.field(csv, fields, symbolColumn)))
                    } catch {
                        return error.description
                    }
                } else {
                    series = fixedSeries[0]
                }
                rows.append(t: t, symbol: series, price: price, volume: volume)
                alternativeTimes?.append(reading.alternative ?? t)
            } else {
                let wide = columns.wide
                values.removeAll(keepingCapacity: true)
                for (position, column) in wide.enumerated() where column.index < fields.count && wideKinds[position] != .text {
                    let text = Self.field(csv, fields, column.index)
                    if text.isEmpty { continue }  // a gap
                    guard let value = DecimalText.parse(text) else {
                        if wideKinds[position] == .unknown {
                            wideKinds[position] = .text
                            continue
                        }
                        return "\(column.name) '\(TimeColumn.shown(text))' is not a number"
                    }
                    wideKinds[position] = .numbers
                    guard value.isFinite else { return "\(column.name) must be a finite number" }
                    values.append((position, value))
                }
                guard !values.isEmpty else { return nil }
                var symbol: String?
                if let symbolColumn = columns.symbol {
                    do {
                        symbol = try Symbol.validated(utf8: Self.field(csv, fields, symbolColumn))
                    } catch {
                        return error.description
                    }
                }
                for (position, value) in values {
                    let series: Int32
                    switch seriesOf(position, symbol: symbol, wide, into: &rows) {
                    case .success(let index): series = index
                    case .failure(let problem): return problem.reason
                    }
                    rows.append(t: t, symbol: series, price: value, volume: 0)
                    alternativeTimes?.append(reading.alternative ?? t)
                }
            }
            return nil
        }

        /// The series of a wide column's value: the column's (or `--symbol`'s), or `<symbol>:<column>`
        /// for a file's symbol; each made when it first gets a value.
        private mutating func seriesOf(_ position: Int, symbol: String?, _ wide: [ReplayColumns.WideColumn], into rows: inout ReplayRows)
            -> Result<Int32, TimeColumn.Problem>
        {
            guard let symbol else {
                if fixedSeries[position] < 0 { fixedSeries[position] = rows.intern(fixedNames[position]) }
                return .success(fixedSeries[position])
            }
            if let known = wideSeries[symbol]?[position], known >= 0 { return .success(known) }
            let name = "\(symbol):\(wide[position].name)"
            guard name.utf8.count <= Symbol.maxLength else {
                return .failure(TimeColumn.Problem(reason: "series '\(name)' (symbol:column) is longer than \(Symbol.maxLength) bytes"))
            }
            let index = rows.intern(name)
            wideSeries[symbol, default: Array(repeating: -1, count: wide.count)][position] = index
            return .success(index)
        }

        /// Keeps this file's times in step with the time column's remaining formats.
        private mutating func adopt(_ reading: TimeColumn.Reading, into rows: inout ReplayRows) {
            switch reading.dropped {
            case .first:
                if let alternativeTimes { rows.times.replaceSubrange(firstTick..., with: alternativeTimes) }
                alternativeTimes = nil
            case .second:
                alternativeTimes = nil
            case nil:
                if reading.alternative != nil, alternativeTimes == nil { alternativeTimes = Array(rows.times[firstTick...]) }
            }
        }

        private mutating func readTime(_ csv: CSVReader, line: Int) -> Result<TimeColumn.Reading, TimeColumn.Problem> {
            guard let clockColumn = columns.clock else { return time.read(Self.field(csv, fields, columns.time), line: line) }
            // A date and a time column: read as `date time`.
            joinedTime.removeAll(keepingCapacity: true)
            joinedTime.append(contentsOf: Self.field(csv, fields, columns.time))
            let clock = Self.field(csv, fields, clockColumn)
            if !clock.isEmpty {
                joinedTime.append(0x20)
                joinedTime.append(contentsOf: clock)
            }
            return joinedTime.withUnsafeBytes { time.read($0, line: line) }
        }

        /// The field at `index` of the record just read, without the spaces around it; valid until the next record.
        /// A static function: a method of the reader would copy the whole reader for each field.
        private static func field(_ csv: CSVReader, _ fields: [CSVReader.Field], _ index: Int) -> UnsafeRawBufferPointer {
            trimmingSpaces(csv.bytes(of: fields[index]))
        }

        private func validated(_ name: String, line: Int) throws(Failure) -> String {
            do {
                return try Symbol.validated(name)
            } catch {
                throw Failure(path: path, line: line, reason: "series '\(name)': \(error.description)")
            }
        }

        private func symbolFromFileName() throws(Failure) -> String {
            var stem = (path as NSString).lastPathComponent
            if stem.lowercased().hasSuffix(".gz") { stem = String(stem.dropLast(3)) }
            stem = (stem as NSString).deletingPathExtension
            do {
                return try Symbol.validated(stem)
            } catch {
                throw Failure(path: path, line: 1, reason: "no symbol column, and the file's name cannot be one: \(error) (name the series with --symbol)")
            }
        }

        private mutating func skip(line: Int, reason: String) {
            skipped += 1
            if firstSkipped == nil { firstSkipped = "\(path):\(line): \(reason)" }
        }
    }
}

/// The bytes without the spaces and tabs around them.
func trimmingSpaces(_ bytes: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
    var start = 0
    var end = bytes.count
    while start < end, bytes[start] == 0x20 || bytes[start] == 0x09 { start += 1 }
    while end > start, bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09 { end -= 1 }
    return UnsafeRawBufferPointer(rebasing: bytes[start..<end])
}
