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
    /// Where the producer takes control commands (ingest, mock loads), so that a gateway merging
    /// several producers can send each symbol's writes to the producer that owns it.
    public var control: ControlAddress?

    public init(
        seq: UInt64, runID: String, generatedAt: Int64, intervalMilliseconds: Int64, charts: Int, deltaBaseSeq: UInt64? = nil, producer: String? = nil,
        control: ControlAddress? = nil
    ) {
        self.producer = producer
        self.control = control
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
        case producer, control
    }

    /// The first part of every snapshot message; subscribers filter on it.
    public static let topic = "snapshot.v1"
}

/// A producer's control socket as it announces it in its snapshot headers.
public struct ControlAddress: Codable, Equatable, Hashable, Sendable {
    /// A ZeroMQ endpoint a gateway connects to: `ipc://…`, or `tcp://host:port`.
    public var endpoint: String
    /// The producer's CURVE public key (Z85) when its control socket is a CURVE server.
    public var curveKey: String?

    public init(endpoint: String, curveKey: String? = nil) {
        self.endpoint = endpoint
        self.curveKey = curveKey
    }

    enum CodingKeys: String, CodingKey {
        case endpoint
        case curveKey = "curve_key"
    }
}
