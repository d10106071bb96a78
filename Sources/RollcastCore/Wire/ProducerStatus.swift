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
    /// Present when the producer persists (`--data-dir`).
    public var persistence: PersistenceStatus?
    /// Present when the producer replays a file (`--replay`).
    public var replay: ReplayStatus?

    public init(
        runID: String, seq: UInt64, symbols: [String], points: Int, windowSeconds: Double,
        intervalMilliseconds: Int64, snapshotEndpoint: String, clock: String, clockTime: Double, ingest: IngestStatus,
        persistence: PersistenceStatus? = nil, replay: ReplayStatus? = nil
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
        self.persistence = persistence
        self.replay = replay
    }

    enum CodingKeys: String, CodingKey {
        case runID = "run_id"
        case seq, symbols, points, clock, ingest, persistence, replay
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

/// The journal of a persisting producer.
public struct PersistenceStatus: Codable, Equatable, Sendable {
    /// The SQLite file.
    public var path: String
    /// Bytes on disk: the file and its write-ahead log.
    public var bytes: Int
    /// Ticks the journal holds.
    public var ticks: Int
    /// Ticks read back at start, and how long reading them and rebuilding the windows took.
    public var restoredTicks: Int
    public var restoreMilliseconds: Int64

    public init(path: String, bytes: Int, ticks: Int, restoredTicks: Int, restoreMilliseconds: Int64) {
        self.path = path
        self.bytes = bytes
        self.ticks = ticks
        self.restoredTicks = restoredTicks
        self.restoreMilliseconds = restoreMilliseconds
    }

    enum CodingKeys: String, CodingKey {
        case path, bytes, ticks
        case restoredTicks = "restored_ticks"
        case restoreMilliseconds = "restore_ms"
    }
}

/// A replay's progress.
public struct ReplayStatus: Codable, Equatable, Sendable {
    /// The first file replayed (``files`` has them all).
    public var file = ""
    /// Every file replayed, in the order given (a folder's files in name order).
    public var files: [String] = []
    /// Ticks replayed (bad rows left out): one per row, or one per value of a wide table's row.
    public var rows = 0
    /// Ticks applied so far in this pass over the files.
    public var applied = 0
    /// Bad rows left out (`--skip-bad`).
    public var skippedRows = 0
    public var speed = ""
    public var loop = false
    /// Passes over the file completed.
    public var loops = 0
    /// Set once the first pass is complete.
    public var finished = false
    /// Seconds the file took to read and check before the replay started.
    public var readSeconds = 0.0
    /// Seconds the last complete pass over the file took.
    public var passSeconds: Double?

    public init() {}

    enum CodingKeys: String, CodingKey {
        case file, files, rows, applied, speed, loop, loops, finished
        case skippedRows = "skipped_rows"
        case readSeconds = "read_s"
        case passSeconds = "pass_s"
    }
}
