/// One chart in a snapshot: a symbol's rolling window at one moment.
///
/// A snapshot is a JSON array of these; the field names below are the wire contract
/// (see docs/protocol.md). `t`, `price` and `volume` have the same length.
public struct ChartObject: Codable, Equatable, Sendable {
    public var symbol: String
    /// Snapshot sequence number; rises by 1 per snapshot within one producer run.
    public var seq: UInt64
    /// Identifies the producer run; a new run may start `seq` again from 1.
    public var runID: String
    /// Unix milliseconds when the snapshot was built.
    public var generatedAt: Int64
    /// Window length in seconds.
    public var windowSeconds: Double
    /// Milliseconds between snapshots.
    public var intervalMilliseconds: Int64
    /// Points in the window before downsampling; more than `t.count` when it was reduced.
    public var rawPoints: Int
    /// Unix seconds, strictly ascending.
    public var t: [Double]
    public var price: [Double]
    public var volume: [Double]

    public init(
        symbol: String, seq: UInt64, runID: String, generatedAt: Int64, windowSeconds: Double,
        intervalMilliseconds: Int64, rawPoints: Int, t: [Double], price: [Double], volume: [Double]
    ) {
        self.symbol = symbol
        self.seq = seq
        self.runID = runID
        self.generatedAt = generatedAt
        self.windowSeconds = windowSeconds
        self.intervalMilliseconds = intervalMilliseconds
        self.rawPoints = rawPoints
        self.t = t
        self.price = price
        self.volume = volume
    }

    enum CodingKeys: String, CodingKey {
        case symbol, seq
        case runID = "run_id"
        case generatedAt = "generated_at"
        case windowSeconds = "window_s"
        case intervalMilliseconds = "interval_ms"
        case rawPoints = "raw_points"
        case t, price, volume
    }
}
