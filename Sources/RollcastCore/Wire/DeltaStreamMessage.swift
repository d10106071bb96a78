/// A message of the delta stream (`rollcast.delta.v1`, docs/protocol.md) as a reader decodes
/// it, and what a reader does with it: the reference the tests rebuild charts with.
public enum DeltaStreamMessage: Decodable, Sendable {
    /// Every chart, as the full stream's message of the same `seq`.
    case full(seq: UInt64, runID: String, charts: [ChartObject])
    case delta(Delta)

    public struct Delta: Decodable, Sendable {
        public var seq: UInt64
        public var runID: String
        public var generatedAt: Int64
        public var baseSeq: UInt64
        public var windowSeconds: Double
        public var intervalMilliseconds: Int64
        public var charts: [Change]
        public var added: [ChartObject]
        public var removed: [String]
        /// Set on a gateway merging several producers: the one producer this delta is from,
        /// whose charts alone take its `seq`, `run_id` and `generated_at`.
        public var producer: Source?

        enum CodingKeys: String, CodingKey {
            case seq, charts, added, removed, producer
            case runID = "run_id"
            case generatedAt = "generated_at"
            case baseSeq = "base_seq"
            case windowSeconds = "window_s"
            case intervalMilliseconds = "interval_ms"
        }
    }

    /// The producer of a delta on a merged stream, and its own snapshot's fields.
    public struct Source: Decodable, Sendable {
        public var name: String
        public var seq: UInt64
        public var runID: String
        public var generatedAt: Int64

        enum CodingKeys: String, CodingKey {
            case name, seq
            case runID = "run_id"
            case generatedAt = "generated_at"
        }
    }

    /// One chart's edit: drop `drop` points from the front, then `replace` from the end, then append.
    public struct Change: Decodable, Sendable {
        public var symbol: String
        public var rawPoints: Int
        public var drop: Int
        public var replace: Int
        public var t: [Double]
        public var price: [Double]
        public var volume: [Double]

        enum CodingKeys: String, CodingKey {
            case symbol, drop, replace, t, price, volume
            case rawPoints = "raw_points"
        }
    }

    enum CodingKeys: String, CodingKey {
        case kind, seq, charts
        case runID = "run_id"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        switch try container.decode(String.self, forKey: .kind) {
        case "full":
            self = .full(
                seq: try container.decode(UInt64.self, forKey: .seq), runID: try container.decode(String.self, forKey: .runID),
                charts: try container.decode([ChartObject].self, forKey: .charts)
            )
        case "delta":
            self = .delta(try Delta(from: decoder))
        case let kind:
            throw DecodingError.dataCorruptedError(forKey: .kind, in: container, debugDescription: "unknown kind '\(kind)'")
        }
    }

    public var seq: UInt64 {
        switch self {
        case .full(let seq, _, _): seq
        case .delta(let delta): delta.seq
        }
    }
}

/// The charts a delta-stream reader holds, rebuilt message by message.
public struct DeltaStreamCharts: Sendable {
    public private(set) var charts: [String: ChartObject] = [:]
    public private(set) var runID: String?
    public private(set) var seq: UInt64?

    public init() {}

    public struct Gap: Error, CustomStringConvertible {
        public let description: String
    }

    /// Applies `message`.
    /// - Throws: ``Gap`` for a delta that does not sit on the charts held (another base, another run, an unknown chart).
    public mutating func apply(_ message: DeltaStreamMessage) throws {
        switch message {
        case .full(let seq, let runID, let full):
            charts = Dictionary(full.map { ($0.symbol, $0) }, uniquingKeysWith: { $1 })
            self.seq = seq
            self.runID = runID
        case .delta(let delta):
            guard delta.runID == runID, delta.baseSeq == seq else {
                throw Gap(description: "a delta on \(delta.runID)/\(delta.baseSeq) to a reader holding \(runID ?? "-")/\(seq.map(String.init) ?? "-")")
            }
            for change in delta.charts {
                guard var chart = charts[change.symbol] else { throw Gap(description: "a delta for \(change.symbol), which is not held") }
                func edit(_ values: [Double], _ appended: [Double]) -> [Double] {
                    Array(values.dropFirst(change.drop).dropLast(change.replace)) + appended
                }
                chart.t = edit(chart.t, change.t)
                chart.price = edit(chart.price, change.price)
                chart.volume = edit(chart.volume, change.volume)
                chart.rawPoints = change.rawPoints
                charts[change.symbol] = chart
            }
            for chart in delta.added { charts[chart.symbol] = chart }
            for symbol in delta.removed { charts[symbol] = nil }
            let source = delta.producer
            for symbol in charts.keys where source == nil || charts[symbol]!.runID == source!.runID {
                charts[symbol]!.seq = source?.seq ?? delta.seq
                charts[symbol]!.generatedAt = source?.generatedAt ?? delta.generatedAt
                charts[symbol]!.windowSeconds = delta.windowSeconds
                charts[symbol]!.intervalMilliseconds = delta.intervalMilliseconds
            }
            seq = delta.seq
        }
    }

    /// The charts held, in symbol order, as the full stream sends them.
    public var sorted: [ChartObject] { charts.values.sorted { $0.symbol < $1.symbol } }
}

extension ChartObject {
    /// The same points, bit for bit, and the same `raw_points`.
    public func samePoints(as other: ChartObject) -> Bool {
        symbol == other.symbol && rawPoints == other.rawPoints && t.map(\.bitPattern) == other.t.map(\.bitPattern)
            && price.map(\.bitPattern) == other.price.map(\.bitPattern) && volume.map(\.bitPattern) == other.volume.map(\.bitPattern)
    }
}
