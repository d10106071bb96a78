/// A request to seed the producer with deterministic mock history.
///
/// The body of `POST /api/test/load_mock_data` and of the `load_mock_data` control
/// command. Every field is optional; unknown fields are refused so that a typo is not
/// silently ignored.
public struct LoadMockData: Codable, Equatable, Sendable {
    public var symbols: [String]
    /// Points of back-filled history per symbol, spread evenly over the window.
    public var points: Int
    /// Seed of the random walk; the same seed gives the same history.
    public var seed: UInt64

    public static let defaultSymbols = ["MOCK-A", "MOCK-B", "MOCK-C"]
    public static let defaultPoints = 300
    public static let defaultSeed: UInt64 = 42
    public static let maxSymbols = 500
    public static let maxPoints = 100_000
    /// Most points one request may generate in all (symbols × points): about 24 MB of ticks.
    public static let pointBudget = 1_000_000

    public init(symbols: [String] = defaultSymbols, points: Int = defaultPoints, seed: UInt64 = defaultSeed) {
        self.symbols = symbols
        self.points = points
        self.seed = seed
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case symbols, points, seed
    }

    public init(from decoder: any Decoder) throws {
        let any = try decoder.container(keyedBy: AnyCodingKey.self)
        let known = Set(CodingKeys.allCases.map(\.rawValue))
        if let unknown = any.allKeys.map(\.stringValue).filter({ !known.contains($0) }).sorted().first {
            throw RequestError.invalid("unknown field '\(unknown)'; expected symbols, points, seed")
        }
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.symbols = try container.decodeIfPresent([String].self, forKey: .symbols) ?? Self.defaultSymbols
        self.points = try container.decodeWholeNumber(Int.self, forKey: .points, range: "0 to \(Self.maxPoints)") ?? Self.defaultPoints
        self.seed = try container.decodeWholeNumber(UInt64.self, forKey: .seed, range: "0 to 2^64-1") ?? Self.defaultSeed
    }

    /// Checks the values, returning the request with symbols trimmed.
    /// - Throws: ``RequestError/invalid(_:)`` naming the first bad value.
    public func validated() throws(RequestError) -> LoadMockData {
        guard !symbols.isEmpty else { throw .invalid("symbols must not be empty") }
        guard symbols.count <= Self.maxSymbols else {
            throw .invalid("at most \(Self.maxSymbols) symbols per request")
        }
        var seen = Set<String>()
        var trimmed: [String] = []
        for raw in symbols {
            let symbol = try Symbol.validated(raw)
            guard seen.insert(symbol).inserted else { throw .invalid("symbol '\(symbol)' is listed twice") }
            trimmed.append(symbol)
        }
        guard (0...Self.maxPoints).contains(points) else {
            throw .invalid("points must be between 0 and \(Self.maxPoints)")
        }
        guard trimmed.count * points <= Self.pointBudget else {
            throw .invalid(
                "symbols × points is \(trimmed.count) × \(points) = \(trimmed.count * points), over the budget of \(Self.pointBudget) points per request"
            )
        }
        return LoadMockData(symbols: trimmed, points: points, seed: seed)
    }
}

extension KeyedDecodingContainer {
    /// Decodes a whole number, naming the field when the JSON holds a fraction or a number out of range.
    ///
    /// Foundation's decoder reports such numbers as "not valid JSON" without a field name;
    /// a user deserves to know which field to fix.
    func decodeWholeNumber<N: FixedWidthInteger & Decodable>(_ type: N.Type, forKey key: Key, range: String) throws -> N? {
        guard contains(key), try !decodeNil(forKey: key) else { return nil }
        if let value = try? decode(N.self, forKey: key) { return value }
        _ = try decode(Double.self, forKey: key)  // a non-number fails here with a type mismatch
        throw RequestError.invalid("\(key.stringValue) must be a whole number from \(range)")
    }
}

struct AnyCodingKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) {
        self.stringValue = String(intValue)
        self.intValue = intValue
    }
}
