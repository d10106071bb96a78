import Foundation
import RollcastCore

/// A CSV file of ticks, read whole and checked before its replay starts, held in time order.
///
/// The header names the columns, in any order and any case: `t` (Unix seconds or an ISO-8601
/// date-time, see ``CSVTime``), `symbol`, `price` and optionally `volume`; other columns are
/// ignored. Where a header lacks the exact name, common ones are taken instead (`time`,
/// `timestamp`, `date`, `datetime` for t; `close`, `last`, `value` for price; `ticker` for
/// symbol), and a file with no symbol column is one series named after the file. Rows are held
/// in columns, about 28 bytes each.
public struct ReplayFile: Sendable {
    let path: String
    /// Every symbol of the file; rows refer to them by position.
    private(set) var symbols: [String] = []
    private(set) var times: [Double] = []
    private(set) var symbolIndex: [Int32] = []
    private(set) var prices: [Double] = []
    private(set) var volumes: [Double] = []
    /// Bad rows left out (with `skipBad`), and the first of them.
    private(set) var skipped = 0
    private(set) var firstSkipped: String?

    public var rows: Int { times.count }

    /// Where the file is wrong: `FILE:LINE: reason`, or `FILE: reason` for the file as a whole.
    public struct Failure: Error, CustomStringConvertible {
        public let path: String
        public let line: Int?
        public let reason: String
        public var description: String { line.map { "\(path):\($0): \(reason)" } ?? "\(path): \(reason)" }
    }

    private enum Role: String, CaseIterable {
        case t, symbol, price, volume

        /// Names taken when the header lacks the exact one.
        var otherNames: [String] {
            switch self {
            case .t: ["time", "timestamp", "date", "datetime"]
            case .symbol: ["ticker"]
            case .price: ["close", "last", "value"]
            case .volume: []
            }
        }
    }

    /// Reads and checks `path`.
    /// - Parameters:
    ///   - skipBad: leave bad rows out (counted) instead of failing on the first.
    ///   - maxSymbols: the producer's symbol limit; a file with more is refused.
    ///   - now: the wall clock, to tell a `t` in milliseconds from one in seconds.
    /// - Throws: ``Failure`` naming the file, and the line for a bad row.
    public init(path: String, skipBad: Bool, maxSymbols: Int, now: Double) throws(Failure) {
        self.path = path
        let data: Data
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw Failure(path: path, line: nil, reason: isDirectory.boolValue ? "is a folder, not a CSV file" : "does not exist")
        }
        do {
            // Mapped, not copied: the file's pages are read as the rows are, and can be dropped after.
            data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        } catch {
            throw Failure(path: path, line: nil, reason: "cannot be read (\((error as NSError).localizedDescription))")
        }
        let result = data.withUnsafeBytes { bytes in
            Result { () throws(Failure) in try self.read(bytes, skipBad: skipBad, now: now) }
        }
        try result.get()
        guard rows > 0 else { throw Failure(path: path, line: nil, reason: "holds no rows to replay") }
        guard symbols.count <= maxSymbols else {
            throw Failure(path: path, line: nil, reason: "holds \(symbols.count) symbols; the producer holds at most \(maxSymbols) (--max-symbols)")
        }
        sortByTime()
    }

    private mutating func read(_ bytes: UnsafeRawBufferPointer, skipBad: Bool, now: Double) throws(Failure) {
        var reader = CSVReader(bytes: bytes)
        var fields: [CSVReader.Field] = []
        let headerLine: Int?
        do {
            headerLine = try reader.next(into: &fields)
        } catch {
            throw Failure(path: path, line: error.line, reason: error.reason)
        }
        guard headerLine != nil else { throw Failure(path: path, line: nil, reason: "is empty; it needs a header naming t, symbol and price") }
        let names = fields.map { field in
            reader.withBytes(of: field) { String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespaces).lowercased() }
        }
        let columns = try columns(from: names, headerLine: headerLine!)
        let fixedSymbol = columns[.symbol] == nil ? try symbolFromFileName() : nil
        let needed = columns.values.max()! + 1
        let rules = TickRules(maxFutureSkew: .infinity)
        var symbolIndexByName: [String: Int32] = [:]
        if let fixedSymbol {
            symbols = [fixedSymbol]
            symbolIndexByName[fixedSymbol] = 0
        }

        while true {
            let line: Int?
            do {
                line = try reader.next(into: &fields)
            } catch {
                guard skipBad else { throw Failure(path: path, line: error.line, reason: error.reason) }
                // A quote that never closes leaves nothing after it to read.
                skip(line: error.line, reason: error.reason)
                break
            }
            guard let line else { break }
            // A row of empty fields (a line of spaces or commas) is blank.
            if fields.allSatisfy({ field in reader.withBytes(of: field) { Self.trimmingSpaces($0).isEmpty } }) { continue }
            switch Self.parse(fields, reader: reader, columns: columns, needed: needed, rules: rules, now: now) {
            case .failure(let problem):
                guard skipBad else { throw Failure(path: path, line: line, reason: problem.reason) }
                skip(line: line, reason: problem.reason)
            case .success(let row):
                var index: Int32 = 0
                if let name = row.symbol {
                    if let known = symbolIndexByName[name] {
                        index = known
                    } else {
                        index = Int32(symbols.count)
                        symbolIndexByName[name] = index
                        symbols.append(name)
                    }
                }
                times.append(row.t)
                symbolIndex.append(index)
                prices.append(row.price)
                volumes.append(row.volume)
            }
        }
    }

    private struct Row {
        var t: Double
        /// `nil` when the file has no symbol column.
        var symbol: String?
        var price: Double
        var volume: Double
    }

    private struct RowProblem: Error {
        let reason: String
    }

    /// One record as a tick, or why it is not one; each reason starts with the column at fault.
    private static func parse(
        _ fields: [CSVReader.Field], reader: CSVReader, columns: [Role: Int], needed: Int, rules: TickRules, now: Double
    ) -> Result<Row, RowProblem> {
        guard fields.count >= needed else { return .failure(RowProblem(reason: "the row has \(fields.count) fields, fewer than the \(needed) its columns need")) }
        func field<T>(_ role: Role, _ body: (UnsafeRawBufferPointer) -> T) -> T {
            reader.withBytes(of: fields[columns[role]!]) { bytes in body(trimmingSpaces(bytes)) }
        }
        let t: Double
        switch field(.t, CSVTime.parse) {
        case .success(let seconds): t = seconds
        case .failure(let problem): return .failure(RowProblem(reason: field(.t) { describe(problem, of: "t", $0) }))
        }
        guard let price = field(.price, DecimalText.parse) else { return .failure(RowProblem(reason: field(.price) { describe(.notANumber, of: "price", $0) })) }
        var volume = 0.0
        if columns[.volume] != nil, !field(.volume, \.isEmpty) {
            guard let value = field(.volume, DecimalText.parse) else { return .failure(RowProblem(reason: field(.volume) { describe(.notANumber, of: "volume", $0) })) }
            volume = value
        }
        if t > now + 86_400, let unit = TickRules.likelyUnit(of: t, now: now) {
            return .failure(RowProblem(reason: "t \(JSONNumberWriter.string(t)) looks like \(unit); t is Unix seconds"))
        }
        if let reason = rules.violation(t: t, price: price, volume: volume, now: now) { return .failure(RowProblem(reason: reason)) }
        var symbol: String?
        if columns[.symbol] != nil {
            let result = field(.symbol) { text in Result { () throws(RequestError) in try Symbol.validated(utf8: text) } }
            switch result {
            case .success(let name): symbol = name
            case .failure(let error): return .failure(RowProblem(reason: error.description))
            }
        }
        return .success(Row(t: t, symbol: symbol, price: price, volume: volume))
    }

    private mutating func skip(line: Int, reason: String) {
        skipped += 1
        if firstSkipped == nil { firstSkipped = "\(path):\(line): \(reason)" }
    }

    private func columns(from names: [String], headerLine: Int) throws(Failure) -> [Role: Int] {
        var columns: [Role: Int] = [:]
        for role in Role.allCases {
            if let exact = names.firstIndex(of: role.rawValue) {
                columns[role] = exact
                continue
            }
            let candidates = names.indices.filter { role.otherNames.contains(names[$0]) }
            if candidates.count > 1 {
                throw Failure(
                    path: path, line: headerLine,
                    reason: "columns \(candidates.map { "'\(names[$0])'" }.joined(separator: " and ")) could each be \(role.rawValue); name one of them \(role.rawValue)"
                )
            }
            columns[role] = candidates.first
        }
        for role in [Role.t, .price] where columns[role] == nil {
            throw Failure(
                path: path, line: headerLine,
                reason: "no \(role.rawValue) column: the header must name t (or \(Role.t.otherNames.joined(separator: ", "))) and price (or \(Role.price.otherNames.joined(separator: ", "))); symbol and volume are optional"
            )
        }
        return columns
    }

    /// A file without a symbol column is one series, named after the file: `AAPL.csv` → `AAPL`.
    private func symbolFromFileName() throws(Failure) -> String {
        let stem = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        do {
            return try Symbol.validated(stem)
        } catch {
            throw Failure(path: path, line: 1, reason: "no symbol column, and the file's name cannot be one: \(error)")
        }
    }

    private enum FieldProblem { case notANumber }

    private static func describe(_ problem: CSVTime.Problem, of column: String, _ text: UnsafeRawBufferPointer) -> String {
        switch problem {
        case .empty: "\(column) is empty"
        case .notATime: "\(column) '\(shown(text))' is neither Unix seconds nor an ISO-8601 date-time such as 2010-01-01 00:00 or 2010-01-01T00:00:00Z"
        }
    }

    private static func describe(_ problem: FieldProblem, of column: String, _ text: UnsafeRawBufferPointer) -> String {
        text.isEmpty ? "\(column) is empty" : "\(column) '\(shown(text))' is not a number"
    }

    private static func shown(_ text: UnsafeRawBufferPointer) -> String {
        String(decoding: text.prefix(40), as: UTF8.self)
    }

    private static func trimmingSpaces(_ bytes: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        var start = 0
        var end = bytes.count
        while start < end, bytes[start] == 0x20 || bytes[start] == 0x09 { start += 1 }
        while end > start, bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09 { end -= 1 }
        return UnsafeRawBufferPointer(rebasing: bytes[start..<end])
    }

    /// Puts the rows in time order, keeping the file's order among rows of one time.
    private mutating func sortByTime() {
        guard zip(times, times.dropFirst()).contains(where: { $0 > $1 }) else { return }
        let order = times.indices.sorted { (times[$0], $0) < (times[$1], $1) }
        times = order.map { times[$0] }
        symbolIndex = order.map { symbolIndex[$0] }
        prices = order.map { prices[$0] }
        volumes = order.map { volumes[$0] }
    }
}
