import RollcastCore

/// What each column of a replayed file holds, from its header.
///
/// The time is `t`, else one of `time`, `timestamp`, `date`, `datetime`, or a `date` and a
/// `time` column together, else the one column whose name holds one of those words
/// (`observation_date`, `Date Time`); the symbol is `symbol` or `ticker` (optional). Values come in two
/// shapes:
/// - **narrow**: a `price` column (or `close`, `last`, `value`) and an optional `volume`: one
///   tick per row, of the row's symbol;
/// - **wide**: with `--columns a,b,c`, or when there is no price column, each chosen column is
///   a series of its own, named after the column (`<symbol>:<column>` where a symbol column
///   names the row's symbol). Without `--columns` every other column is taken whose first
///   non-empty cell is a number.
struct ReplayColumns {
    /// The time's column: one, or the date of a date column and a time column read together as `date time`.
    let time: Int
    /// The time column of a date and a time column.
    let clock: Int?
    let symbol: Int?
    /// A narrow table's price column; `nil` for a wide table.
    let price: Int?
    let volume: Int?
    /// A wide table's value columns; empty for a narrow table.
    let wide: [WideColumn]
    /// Whether `--columns` chose the wide columns (every cell must then be a number).
    let chosen: Bool
    /// The fields a row must have.
    let needed: Int

    struct WideColumn {
        let index: Int
        /// The column's name as a symbol: characters a symbol cannot hold become `_`.
        let name: String
    }

    struct Refusal: Error {
        let reason: String
    }

    /// Before a header is read.
    static let none = ReplayColumns(time: 0, clock: nil, symbol: nil, price: nil, volume: nil, wide: [], chosen: false, needed: 0)

    private init(time: Int, clock: Int?, symbol: Int?, price: Int?, volume: Int?, wide: [WideColumn], chosen: Bool, needed: Int) {
        (self.time, self.clock, self.symbol, self.price, self.volume, self.wide, self.chosen, self.needed) = (time, clock, symbol, price, volume, wide, chosen, needed)
    }

    private static let timeNames = ["time", "timestamp", "date", "datetime"]
    private static let symbolNames = ["ticker"]
    private static let priceNames = ["close", "last", "value"]

    /// - Parameters:
    ///   - header: the header's fields, trimmed, as written.
    ///   - chosen: `--columns`, names matched in any case.
    init(header: [String], chosen: [String]?) throws(Refusal) {
        let names = header.map { $0.lowercased() }
        guard let time = try Self.timeColumns(names) else {
            throw Refusal(
                reason: "no t column: the header must name t (or \(Self.timeNames.joined(separator: ", ")), or a date and a time column) and the values (price, or close, last, value; or --columns)"
            )
        }
        self.time = time[0]
        clock = time.count == 2 ? time[1] : nil
        symbol = try Self.column(names, "symbol", otherNames: Self.symbolNames)
        let taken = Set(time + (symbol.map { [$0] } ?? []))
        if let chosen {
            var columns: [WideColumn] = []
            for name in chosen {
                guard let index = names.firstIndex(of: name.lowercased()) else {
                    throw Refusal(reason: "no column '\(name)' (--columns); the header has \(header.map { "'\($0)'" }.joined(separator: ", "))")
                }
                guard !taken.contains(index) else {
                    throw Refusal(reason: "column '\(name)' (--columns) holds the \(time.contains(index) ? "time" : "symbol"), not values")
                }
                columns.append(try Self.wideColumn(index, header[index]))
            }
            (price, volume, wide, self.chosen) = (nil, nil, columns, true)
            needed = taken.max()! + 1
        } else if let price = try Self.column(names, "price", otherNames: Self.priceNames) {
            let volume = names.firstIndex(of: "volume")
            (self.price, self.volume, wide, self.chosen) = (price, volume, [], false)
            needed = (taken + [price] + (volume.map { [$0] } ?? [])).max()! + 1
        } else {
            let columns = try header.indices.filter { !taken.contains($0) && !header[$0].isEmpty }.map { index throws(Refusal) in try Self.wideColumn(index, header[index]) }
            guard !columns.isEmpty else {
                throw Refusal(reason: "no price column and no other column to chart: the header must name price (or close, last, value), or columns of numbers")
            }
            (price, volume, wide, self.chosen) = (nil, nil, columns, false)
            needed = taken.max()! + 1
        }
    }

    /// The time's column, or a date and a time column; `nil` when the header has none.
    private static func timeColumns(_ names: [String]) throws(Refusal) -> [Int]? {
        if let exact = names.firstIndex(of: "t") { return [exact] }
        let candidates = names.indices.filter { timeNames.contains(names[$0]) }
        if candidates.count == 2, let date = names.firstIndex(of: "date"), let time = names.firstIndex(of: "time") { return [date, time] }
        if candidates.count > 1 {
            throw Refusal(reason: "columns \(candidates.map { "'\(names[$0])'" }.joined(separator: " and ")) could each be t; name one of them t")
        }
        if let exact = candidates.first { return [exact] }
        // Names as data sites write them: `observation_date`, `Date Time`, `time (UTC)`: one
        // column with such a word is the time.
        let worded = names.indices.filter { index in
            names[index].split { !$0.isLetter }.contains { timeNames.contains(String($0)) }
        }
        if worded.count > 1 {
            throw Refusal(reason: "columns \(worded.map { "'\(names[$0])'" }.joined(separator: " and ")) could each be t; name one of them t")
        }
        return worded.first.map { [$0] }
    }

    /// The column named `role`, else the one of `otherNames` the header has.
    private static func column(_ names: [String], _ role: String, otherNames: [String]) throws(Refusal) -> Int? {
        if let exact = names.firstIndex(of: role) { return exact }
        let candidates = names.indices.filter { otherNames.contains(names[$0]) }
        if candidates.count > 1 {
            throw Refusal(reason: "columns \(candidates.map { "'\(names[$0])'" }.joined(separator: " and ")) could each be \(role); name one of them \(role)")
        }
        return candidates.first
    }

    private static func wideColumn(_ index: Int, _ header: String) throws(Refusal) -> WideColumn {
        let name = String(String.UnicodeScalarView(header.unicodeScalars.map { Self.allowed($0) ? $0 : "_" }))
        guard name.utf8.count <= Symbol.maxLength else {
            throw Refusal(reason: "column '\(header)' cannot name a series: longer than \(Symbol.maxLength) bytes (choose others with --columns)")
        }
        return WideColumn(index: index, name: name)
    }

    /// The characters of ``Symbol``'s rules.
    private static func allowed(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9", ".", "_", "-", ":", "/": true
        default: false
        }
    }
}
