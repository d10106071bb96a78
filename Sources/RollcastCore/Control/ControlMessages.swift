/// A command sent to the producer's control socket (ZeroMQ REQ/REP), as one JSON object:
/// `{"command": "load_mock_data", "arguments": {...}}`, `{"command": "ingest", "arguments":
/// {"ticks": [...]}}`, `{"command": "publish"}` or `{"command": "status"}`.
public enum ControlRequest: Equatable, Sendable {
    /// Seed symbols with mock history; answered after the data is in the windows.
    case loadMockData(LoadMockData)
    /// Add real ticks to the windows; answered after they are in.
    case ingest(IngestTicks)
    /// Publish a snapshot now (a subscriber that just connected asks for one).
    case publish
    /// Report the producer's state.
    case status
}

extension ControlRequest: Codable {
    enum CodingKeys: String, CodingKey { case command, arguments }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let command = try container.decode(String.self, forKey: .command)
        switch command {
        case "load_mock_data":
            let arguments = try container.decodeIfPresent(LoadMockData.self, forKey: .arguments)
            self = .loadMockData(arguments ?? LoadMockData())
        case "ingest":
            self = .ingest(try container.decode(IngestTicks.self, forKey: .arguments))
        case "publish":
            self = .publish
        case "status":
            self = .status
        default:
            throw RequestError.invalid("unknown command '\(command)'; expected load_mock_data, ingest, publish or status")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .loadMockData(let request):
            try container.encode("load_mock_data", forKey: .command)
            try container.encode(request, forKey: .arguments)
        case .ingest(let ticks):
            try container.encode("ingest", forKey: .command)
            try container.encode(ticks, forKey: .arguments)
        case .publish:
            try container.encode("publish", forKey: .command)
        case .status:
            try container.encode("status", forKey: .command)
        }
    }
}

/// The producer's answer to a ``ControlRequest``.
public struct ControlReply: Codable, Equatable, Sendable {
    /// Set when the command failed; the other fields are then absent.
    public var error: String?
    public var loaded: LoadedMockData?
    public var ingested: IngestResult?
    /// Set by `publish`: a snapshot is on its way.
    public var published: Bool?
    public var status: ProducerStatus?

    public init(
        error: String? = nil, loaded: LoadedMockData? = nil, ingested: IngestResult? = nil, published: Bool? = nil, status: ProducerStatus? = nil
    ) {
        self.error = error
        self.loaded = loaded
        self.ingested = ingested
        self.published = published
        self.status = status
    }
}

/// What a `load_mock_data` command did.
public struct LoadedMockData: Codable, Equatable, Sendable {
    public var symbols: [String]
    public var points: Int
    public var seed: UInt64
    /// The first snapshot `seq` of this producer run that contains the loaded data.
    public var visibleFromSeq: UInt64
    public var runID: String

    public init(symbols: [String], points: Int, seed: UInt64, visibleFromSeq: UInt64, runID: String) {
        self.symbols = symbols
        self.points = points
        self.seed = seed
        self.visibleFromSeq = visibleFromSeq
        self.runID = runID
    }

    enum CodingKeys: String, CodingKey {
        case symbols, points, seed
        case visibleFromSeq = "visible_from_seq"
        case runID = "run_id"
    }
}

/// The producer's state, as the `status` command reports it.
public struct ProducerStatus: Codable, Equatable, Sendable {
    public var runID: String
    /// The last snapshot `seq` published; 0 before the first.
    public var seq: UInt64
    public var symbols: [String]
    public var points: Int
    public var windowSeconds: Double
    public var intervalMilliseconds: Int64
    public var snapshotEndpoint: String

    public init(
        runID: String, seq: UInt64, symbols: [String], points: Int, windowSeconds: Double,
        intervalMilliseconds: Int64, snapshotEndpoint: String
    ) {
        self.runID = runID
        self.seq = seq
        self.symbols = symbols
        self.points = points
        self.windowSeconds = windowSeconds
        self.intervalMilliseconds = intervalMilliseconds
        self.snapshotEndpoint = snapshotEndpoint
    }

    enum CodingKeys: String, CodingKey {
        case runID = "run_id"
        case seq, symbols, points
        case windowSeconds = "window_s"
        case intervalMilliseconds = "interval_ms"
        case snapshotEndpoint = "snapshot_endpoint"
    }
}
