/// The last snapshot of every producer, for gateways that subscribe after it was published
/// (a last-value cache): a gateway that starts or reconnects is ready at once, without
/// asking each producer for a snapshot.
///
/// Producers are known by the name in their snapshot header (`--name`; the run id for a
/// producer that sends none). A new run of a producer replaces its old snapshot; a producer
/// silent for `silenceLimit` is dropped, so a dead producer's snapshot is not handed out for ever.
public struct SnapshotCache<Part> {
    public struct Entry {
        public var runID: String
        /// The message as it came (the broker keeps libzmq's messages, whose bytes it shares).
        public var parts: [Part]
        public var receivedAt: ContinuousClock.Instant
    }

    public enum Change: Equatable, Sendable {
        case newProducer
        case newRun(previous: String)
        case sameRun
    }

    public let silenceLimit: Duration
    public private(set) var entries: [String: Entry] = [:]

    public init(silenceLimit: Duration) {
        self.silenceLimit = silenceLimit
    }

    /// Keeps `parts` as `producer`'s latest snapshot.
    @discardableResult
    public mutating func record(producer: String, runID: String, parts: [Part], at now: ContinuousClock.Instant) -> Change {
        let previous = entries[producer]
        entries[producer] = Entry(runID: runID, parts: parts, receivedAt: now)
        guard let previous else { return .newProducer }
        return previous.runID == runID ? .sameRun : .newRun(previous: previous.runID)
    }

    /// Drops the producers silent for longer than ``silenceLimit``; returns their names.
    public mutating func expire(now: ContinuousClock.Instant) -> [String] {
        let silent = entries.filter { $0.value.receivedAt.duration(to: now) > silenceLimit }.keys.sorted()
        for name in silent { entries[name] = nil }
        return silent
    }

    /// Every cached snapshot, by producer name.
    public var messages: [[Part]] {
        entries.keys.sorted().map { entries[$0]!.parts }
    }
}
