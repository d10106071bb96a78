import Foundation

/// A command sent to the producer's control socket (ZeroMQ REQ or DEALER → ROUTER).
///
/// A command is one message whose first part is a JSON object: `{"command": "load_mock_data",
/// "arguments": {...}}`, `{"command": "publish"}` or `{"command": "status"}`. `ingest` has a
/// second part, the batch exactly as the client sent it (`{"ticks": [...]}`), so that the
/// producer reads it once, with the same reader as its ingest socket.
public enum ControlRequest: Equatable, Sendable {
    /// Seed symbols with mock history; answered after the data is in the windows.
    case loadMockData(LoadMockData)
    /// Add a batch of real ticks; answered after they are in (and durable, with persistence on).
    case ingest(batch: [UInt8])
    /// Publish a snapshot now (a subscriber that just connected asks for one).
    case publish
    /// Report the producer's state.
    case status
    /// The producer's metrics as Prometheus text.
    case metrics

    public static let commands = "load_mock_data, ingest, publish, status or metrics"

    /// The command's name, as sent.
    public var name: String {
        switch self {
        case .loadMockData: "load_mock_data"
        case .ingest: "ingest"
        case .publish: "publish"
        case .status: "status"
        case .metrics: "metrics"
        }
    }

    /// A write of ticks: one the producer got may be applied even when its answer comes too late.
    public var isIngest: Bool {
        if case .ingest = self { return true }
        return false
    }

    /// The message parts to send.
    public func parts() throws -> [[UInt8]] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        switch self {
        case .loadMockData(let arguments):
            return [Array(try encoder.encode(Head(command: "load_mock_data", arguments: arguments)))]
        case .ingest(let batch):
            return [Array(#"{"command":"ingest"}"#.utf8), batch]
        case .publish:
            return [Array(#"{"command":"publish"}"#.utf8)]
        case .status, .metrics:
            return [Array(#"{"command":"\#(name)"}"#.utf8)]
        }
    }

    /// Reads a command from the parts of one message.
    /// - Throws: ``RequestError`` naming what is wrong; never traps on any input.
    public init(parts: [[UInt8]]) throws(RequestError) {
        guard let first = parts.first else { throw .invalid("a command is one message part (two for ingest), not 0") }
        let head = try Self.head(first, parts: parts.count)
        self = head.isIngest ? .ingest(batch: parts[1]) : try head.request()
    }

    /// The command a message's first part names, checked against the message's number of
    /// parts; an ingest's batch (its second part) is left for the caller to read where it lies.
    public static func head(_ first: [UInt8], parts count: Int) throws(RequestError) -> Head {
        guard count <= 2 else {
            throw .invalid("a command is one message part (two for ingest), not \(count)")
        }
        let head: Head
        do {
            head = try JSONDecoder().decode(Head.self, from: Data(first))
        } catch {
            throw .invalid("malformed command: \(DecodingErrorReason.describe(error))")
        }
        let partsWanted = head.command == "ingest" ? 2 : 1
        guard count == partsWanted else {
            throw .invalid("\(head.command) is \(partsWanted == 1 ? "one message part" : "two message parts: the command, then the batch"), not \(count)")
        }
        _ = try head.request(batch: [])
        return head
    }

    /// A command's first part: its name, and the arguments of a mock load.
    public struct Head: Codable, Sendable {
        var command: String
        var arguments: LoadMockData?

        public var isIngest: Bool { command == "ingest" }

        /// The request this head makes, an ingest's with `batch`.
        public func request(batch: [UInt8] = []) throws(RequestError) -> ControlRequest {
            switch command {
            case "load_mock_data": .loadMockData(arguments ?? LoadMockData())
            case "ingest": .ingest(batch: batch)
            case "publish": .publish
            case "status": .status
            case "metrics": .metrics
            default: throw .invalid("malformed command: unknown command '\(command)'; expected \(ControlRequest.commands)")
            }
        }
    }
}

/// The producer's answer to a ``ControlRequest``: one JSON part.
public struct ControlReply: Codable, Equatable, Sendable {
    /// Set when the command failed; the other fields are then absent.
    public var error: String?
    /// Set with `error` when the fault is the producer's, not the request's (too busy, or
    /// unable to store): the same request may succeed later. The gateway answers 503.
    public var retryable: Bool?
    public var loaded: LoadedMockData?
    public var ingested: IngestResult?
    /// Set by `publish`: a snapshot is on its way.
    public var published: Bool?
    public var status: ProducerStatus?
    /// Set by `metrics`: Prometheus text exposition format 0.0.4.
    public var metrics: String?

    /// An error reply for `error`; retryable when the producer, not the request, is at fault.
    /// The reply as the control socket sends it: sorted keys, slashes unescaped, as the
    /// gateway's own JSON answers are, so a part of it can be relayed as it is.
    public func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(self))
    }

    public init(refusal error: RequestError) {
        self.init(error: error.description, retryable: error.isRetryable ? true : nil)
    }

    public init(
        error: String? = nil, retryable: Bool? = nil, loaded: LoadedMockData? = nil, ingested: IngestResult? = nil, published: Bool? = nil,
        status: ProducerStatus? = nil, metrics: String? = nil
    ) {
        self.error = error
        self.retryable = retryable
        self.loaded = loaded
        self.ingested = ingested
        self.published = published
        self.status = status
        self.metrics = metrics
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
