/// The ticks of every replayed file, held in columns (about 28 bytes a tick) and, once read,
/// in time order.
struct ReplayRows {
    /// Every series; ticks refer to them by position.
    private(set) var symbols: [String] = []
    private var indexBySymbol: [String: Int32] = [:]
    var times: [Double] = []
    private(set) var symbolIndex: [Int32] = []
    private(set) var prices: [Double] = []
    private(set) var volumes: [Double] = []

    var count: Int { times.count }

    /// The position of `symbol`, added if new.
    mutating func intern(_ symbol: String) -> Int32 {
        if let known = indexBySymbol[symbol] { return known }
        let index = Int32(symbols.count)
        indexBySymbol[symbol] = index
        symbols.append(symbol)
        return index
    }

    mutating func append(t: Double, symbol: Int32, price: Double, volume: Double) {
        times.append(t)
        symbolIndex.append(symbol)
        prices.append(price)
        volumes.append(volume)
    }

    /// Drops the ticks from `start` on (a file that failed part way).
    mutating func removeTicks(from start: Int) {
        times.removeSubrange(start...)
        symbolIndex.removeSubrange(start...)
        prices.removeSubrange(start...)
        volumes.removeSubrange(start...)
    }

    /// Puts the ticks in time order, keeping their order among ticks of one time (the files'
    /// order, then each file's), so later ones win a merge as they would in the file.
    mutating func sortByTime() {
        guard zip(times, times.dropFirst()).contains(where: { $0 > $1 }) else { return }
        let order = times.indices.sorted { (times[$0], $0) < (times[$1], $1) }
        times = order.map { times[$0] }
        symbolIndex = order.map { symbolIndex[$0] }
        prices = order.map { prices[$0] }
        volumes = order.map { volumes[$0] }
    }
}
