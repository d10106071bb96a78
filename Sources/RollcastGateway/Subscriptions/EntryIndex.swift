/// A snapshot's entries (chart objects, or a delta's entries) by symbol, so that the entries a
/// selection takes are found by looking up its symbols and the ranges of its prefixes, not by
/// testing every entry: with 1,000 charts and 2,000 distinct selections that is about ten
/// lookups per selection instead of a thousand tests.
struct EntryIndex: Sendable {
    private let symbols: [String]
    private let positionOf: [String: Int]
    /// Positions in symbol order (byte order: symbols are ASCII), for the prefixes' ranges.
    private let ordered: [Int]

    init(symbols: [String]) {
        self.symbols = symbols
        positionOf = Dictionary(symbols.enumerated().map { ($1, $0) }) { first, _ in first }
        ordered = symbols.indices.sorted { symbols[$0].utf8.lexicographicallyPrecedes(symbols[$1].utf8) }
    }

    /// The positions of the entries `filter` takes, in the entries' own order.
    func positions(_ filter: ChartFilter) -> [Int] {
        // Candidates come from one selection (the one chosen, else the token's); the other, if
        // any, is tested on those candidates alone.
        guard let narrow = filter.chosen ?? filter.allowed else { return Array(symbols.indices) }
        let other = filter.chosen == nil ? nil : filter.allowed
        var found: [Int] = []
        for symbol in narrow.exact {
            if let position = positionOf[symbol] { found.append(position) }
        }
        for prefix in narrow.prefixes {
            if prefix.isEmpty {
                found = Array(symbols.indices)
                break
            }
            var index = lowerBound(prefix)
            while index < ordered.count, symbols[ordered[index]].utf8.starts(with: prefix.utf8) {
                found.append(ordered[index])
                index += 1
            }
        }
        if let other { found.removeAll { !other.matches(symbols[$0]) } }
        found.sort()
        // An exact symbol that a prefix also takes is found twice.
        var previous = -1
        found.removeAll { position in
            defer { previous = position }
            return position == previous
        }
        return found
    }

    /// The first place in symbol order whose symbol is not before `prefix`.
    private func lowerBound(_ prefix: String) -> Int {
        var low = 0
        var high = ordered.count
        while low < high {
            let middle = (low + high) / 2
            if symbols[ordered[middle]].utf8.lexicographicallyPrecedes(prefix.utf8) { low = middle + 1 } else { high = middle }
        }
        return low
    }
}
