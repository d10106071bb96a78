import Foundation

/// Real data in: a batch of ticks, the body of `POST /api/ingest` and of the `ingest`
/// control command: `{"ticks": [{"symbol": "AAPL", "t": 1795755511.012, "price": 189.25, "volume": 100}]}`.
public struct IngestTicks: Codable, Equatable, Sendable {
    public struct Item: Codable, Equatable, Sendable {
        public var symbol: String
        /// Unix seconds; fractions allowed.
        public var t: Double
        public var price: Double
        /// Optional; 0 when absent.
        public var volume: Double?

        public init(symbol: String, t: Double, price: Double, volume: Double? = nil) {
            self.symbol = symbol
            self.t = t
            self.price = price
            self.volume = volume
        }
    }

    public var ticks: [Item]

    public static let maxTicks = 10_000

    public init(ticks: [Item]) {
        self.ticks = ticks
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case ticks }

    public init(from decoder: any Decoder) throws {
        let any = try decoder.container(keyedBy: AnyCodingKey.self)
        if let unknown = any.allKeys.map(\.stringValue).first(where: { $0 != "ticks" }) {
            throw RequestError.invalid("unknown field '\(unknown)'; expected ticks")
        }
        ticks = try decoder.container(keyedBy: CodingKeys.self).decode([Item].self, forKey: .ticks)
    }

    /// Checks every tick, returning the batch with symbols trimmed.
    /// - Throws: ``RequestError/invalid(_:)`` naming the first bad tick by its index.
    public func validated() throws -> IngestTicks {
        guard !ticks.isEmpty else { throw RequestError.invalid("ticks must not be empty") }
        guard ticks.count <= Self.maxTicks else { throw RequestError.invalid("at most \(Self.maxTicks) ticks per request") }
        var checked: [Item] = []
        checked.reserveCapacity(ticks.count)
        for (index, tick) in ticks.enumerated() {
            func invalid(_ reason: String) -> RequestError { .invalid("ticks[\(index)]: \(reason)") }
            let symbol: String
            do { symbol = try Symbol.validated(tick.symbol) } catch { throw invalid("\(error)") }
            guard tick.t.isFinite, tick.t > 0 else { throw invalid("t must be Unix seconds, a positive number") }
            guard tick.price.isFinite else { throw invalid("price must be a finite number") }
            if let volume = tick.volume {
                guard volume.isFinite, volume >= 0 else { throw invalid("volume must be a number of 0 or more") }
            }
            checked.append(Item(symbol: symbol, t: tick.t, price: tick.price, volume: tick.volume))
        }
        return IngestTicks(ticks: checked)
    }
}

/// What an `ingest` command did with a batch.
public struct IngestResult: Codable, Equatable, Sendable {
    /// Ticks added at the end of their window.
    public var appended: Int
    /// Ticks whose time a stored tick already had: merged into it (its price wins, volumes add).
    public var merged: Int
    /// Late ticks put in their place in time.
    public var inserted: Int
    /// Ticks older than their window, dropped.
    public var tooOld: Int
    /// Symbols the batch added.
    public var newSymbols: [String]
    /// The first snapshot `seq` of this producer run that contains the batch.
    public var visibleFromSeq: UInt64

    public init(appended: Int = 0, merged: Int = 0, inserted: Int = 0, tooOld: Int = 0, newSymbols: [String] = [], visibleFromSeq: UInt64 = 0) {
        self.appended = appended
        self.merged = merged
        self.inserted = inserted
        self.tooOld = tooOld
        self.newSymbols = newSymbols
        self.visibleFromSeq = visibleFromSeq
    }

    enum CodingKeys: String, CodingKey {
        case appended, merged, inserted
        case tooOld = "too_old"
        case newSymbols = "new_symbols"
        case visibleFromSeq = "visible_from_seq"
    }
}
