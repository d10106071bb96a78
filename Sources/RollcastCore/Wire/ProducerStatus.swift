/// The producer's state, as the `status` command reports it.
public struct ProducerStatus: Codable, Equatable, Sendable {
    public var runID: String
    /// The last snapshot `seq` published; 0 before the first.
    public var seq: UInt64
    public var symbols: [String]
    /// Ticks held in all windows.
    public var points: Int
    public var windowSeconds: Double
    public var intervalMilliseconds: Int64
    public var snapshotEndpoint: String
    /// `wall`, or `replay` while the producer replays a file.
    public var clock: String
    /// The producer's clock, Unix seconds: the wall clock, or the replay's position in its file.
    public var clockTime: Double
    public var ingest: IngestStatus

    public init(
        runID: String, seq: UInt64, symbols: [String], points: Int, windowSeconds: Double,
        intervalMilliseconds: Int64, snapshotEndpoint: String, clock: String, clockTime: Double, ingest: IngestStatus
    ) {
        self.runID = runID
        self.seq = seq
        self.symbols = symbols
        self.points = points
        self.windowSeconds = windowSeconds
        self.intervalMilliseconds = intervalMilliseconds
        self.snapshotEndpoint = snapshotEndpoint
        self.clock = clock
        self.clockTime = clockTime
        self.ingest = ingest
    }

    enum CodingKeys: String, CodingKey {
        case runID = "run_id"
        case seq, symbols, points, clock, ingest
        case windowSeconds = "window_s"
        case intervalMilliseconds = "interval_ms"
        case snapshotEndpoint = "snapshot_endpoint"
        case clockTime = "clock_time"
    }
}

/// Counters of the ways ticks come in, and of what the windows did with them, since the producer started.
public struct IngestStatus: Codable, Equatable, Sendable {
    /// One way in: `POST /api/ingest` (through the control socket) or the ingest socket.
    public struct Source: Codable, Equatable, Sendable {
        /// Batches applied.
        public var batches = 0
        /// Ticks in the batches applied.
        public var ticks = 0
        /// Batches refused (malformed, or a tick broke a rule).
        public var refused = 0
        /// Batches whose `batch_id` had been applied before; they changed nothing.
        public var duplicates = 0
        /// Why the last refused batch was refused.
        public var lastRefusal: String?

        public init() {}

        enum CodingKeys: String, CodingKey {
            case batches, ticks, refused, duplicates
            case lastRefusal = "last_refusal"
        }
    }

    public var http = Source()
    public var socket = Source()
    /// Ticks older than their window when they came, dropped.
    public var ticksTooOld = 0
    /// Oldest ticks dropped because a window held `--max-ticks-per-window`.
    public var ticksDroppedByCap = 0
    /// Merged volumes that would have passed the largest finite number, held at it instead.
    public var volumesCapped = 0
    /// Symbols forgotten after their window stayed empty for `--forget-empty-after`.
    public var symbolsReleased = 0

    public init() {}

    enum CodingKeys: String, CodingKey {
        case http, socket
        case ticksTooOld = "ticks_too_old"
        case ticksDroppedByCap = "ticks_dropped_by_cap"
        case volumesCapped = "volumes_capped"
        case symbolsReleased = "symbols_released"
    }
}
