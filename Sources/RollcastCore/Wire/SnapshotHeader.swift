/// The small second part of every snapshot message on the ZeroMQ socket.
///
/// It lets a subscriber track the feed (sequence, age, producer run) without parsing
/// the payload, which it relays as it is.
public struct SnapshotHeader: Codable, Equatable, Sendable {
    public var seq: UInt64
    public var runID: String
    /// Unix milliseconds when the snapshot was built.
    public var generatedAt: Int64
    /// Milliseconds between snapshots, so subscribers know when the feed is late.
    public var intervalMilliseconds: Int64
    /// Number of chart objects in the payload.
    public var charts: Int
    /// Set when the message carries a fourth part, the delta from the snapshot of this `seq`
    /// (the previous one published in this run) to this one; see docs/protocol.md.
    public var deltaBaseSeq: UInt64?
    /// The producer's name (`--name`): a broker keeps the last snapshot of each, and a new run
    /// of a producer replaces its old one.
    public var producer: String?

    public init(
        seq: UInt64, runID: String, generatedAt: Int64, intervalMilliseconds: Int64, charts: Int, deltaBaseSeq: UInt64? = nil, producer: String? = nil
    ) {
        self.producer = producer
        self.seq = seq
        self.runID = runID
        self.generatedAt = generatedAt
        self.intervalMilliseconds = intervalMilliseconds
        self.charts = charts
        self.deltaBaseSeq = deltaBaseSeq
    }

    enum CodingKeys: String, CodingKey {
        case seq
        case runID = "run_id"
        case generatedAt = "generated_at"
        case intervalMilliseconds = "interval_ms"
        case charts
        case deltaBaseSeq = "delta_base_seq"
        case producer
    }

    /// The first part of every snapshot message; subscribers filter on it.
    public static let topic = "snapshot.v1"
}
