import NIOCore
import RollcastCore

/// Merges the latest snapshot of every producer into the one message clients receive.
///
/// With one producer the message is that producer's, byte for byte. With several, it is one
/// JSON array of their chart objects sorted by symbol, each object as its producer wrote it
/// (its own `seq`, `run_id` and `generated_at`), so a browser sees per chart whether the
/// producer behind it still moves. The message's own `run_id` names the set of producer runs
/// and its `seq` is the sum of their `seq`s: both are functions of the snapshots held, so
/// two gateways holding the same snapshots send the same bytes (docs/scale-out.md).
///
/// Owned by the subscriber's thread; not shared.
public struct SnapshotMerger: Sendable {
    /// Most producers held at once; snapshots of more are refused (and logged).
    public var maxProducers = 64
    /// A producer silent this long is forgotten and its charts leave the message.
    public var forgetAfter: Duration

    private(set) var feeds: [String: ProducerFeed] = [:]
    /// The message last published, for the next delta's base.
    private var published: (runID: String, seq: UInt64)?
    /// Producers with a symbol another producer also sends, as of the last message.
    private var conflicted: Set<String> = []

    public init(forgetAfter: Duration) {
        self.forgetAfter = forgetAfter
    }

    public enum Outcome: Sendable {
        case publish(MergedSnapshot)
        /// A snapshot held already (a broker resends its cache when any gateway subscribes).
        case duplicate
        case refused(reason: String)
    }

    public static let maxNameBytes = 64
    static let notCharts = "payload is not a JSON array of chart objects that begin with their symbol"

    /// Takes one producer's snapshot and returns the message to publish, if any.
    public mutating func accept(header: SnapshotHeader, payload: ByteBuffer, delta: ByteBuffer?, receivedAt: ContinuousClock.Instant) -> Outcome {
        let name = header.producer ?? ""
        guard name.utf8.count <= Self.maxNameBytes else { return .refused(reason: "producer name longer than \(Self.maxNameBytes) bytes") }
        let held = feeds[name]
        if let held, held.header.runID == header.runID, header.seq <= held.header.seq { return .duplicate }
        // One producer's payload passes through whole: it is cut into charts only once there is another.
        let others = feeds.count - (held == nil ? 0 : 1)
        var charts: [ChartSlices.Chart]?
        if others > 0 {
            charts = ChartSlices.split(payload)
            guard charts != nil else { return .refused(reason: Self.notCharts) }
        }
        // What the last message held, before anything is forgotten or replaced.
        let before = (runs: runSet, conflicted: conflicted)
        let forgotten = feeds.values.filter { $0.name != name && $0.receivedAt.duration(to: receivedAt) > forgetAfter }.map(\.name).sorted()
        for silent in forgotten { feeds[silent] = nil }
        guard held != nil || feeds.count < maxProducers else {
            return .refused(reason: "the gateway holds its maximum of \(maxProducers) producers")
        }
        let feed = ProducerFeed(name: name, header: header, payload: payload, charts: charts, delta: delta, receivedAt: receivedAt)
        feeds[name] = feed

        var merged: MergedSnapshot
        if feeds.count == 1 {
            merged = passThrough(feed)
            conflicted = []
        } else {
            (merged, conflicted) = merge()
        }
        merged.forgotten = forgotten
        // A delta sits on the last message only when nothing but this producer's snapshot changed.
        if feeds.count > 1, let delta, let base = header.deltaBaseSeq, let published, published.runID == merged.header.runID, let held,
            held.header.runID == header.runID, held.header.seq == base, before.runs == runSet,
            !before.conflicted.contains(name), !conflicted.contains(name),
            let rewritten = Self.rewriteDelta(delta, of: header, as: merged.header, base: published.seq)
        {
            merged.delta = rewritten
            merged.header.deltaBaseSeq = published.seq
        }
        published = (merged.header.runID, merged.header.seq)
        return .publish(merged)
    }

    // MARK: Merging

    private func passThrough(_ feed: ProducerFeed) -> MergedSnapshot {
        MergedSnapshot(header: feed.header, payload: feed.payload, delta: feed.delta, sources: [feed.source(hidden: [])])
    }

    /// Every producer's charts in symbol order; a symbol two producers claim is shown from the
    /// producer whose name sorts first, and counted as hidden for the others.
    private mutating func merge() -> (MergedSnapshot, conflicted: Set<String>) {
        // A producer held alone until now is cut into charts at last.
        for (name, feed) in feeds where feed.charts == nil {
            feeds[name] = feed.withCharts(ChartSlices.split(feed.payload) ?? [])
        }
        let ordered = feeds.values.sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
        var entries: [(symbol: String, producer: Int, bytes: ByteBuffer)] = []
        entries.reserveCapacity(ordered.reduce(0) { $0 + ($1.charts?.count ?? 0) })
        for (index, feed) in ordered.enumerated() {
            for chart in feed.charts ?? [] { entries.append((chart.symbol, index, chart.bytes)) }
        }
        entries.sort { a, b in
            a.symbol == b.symbol ? a.producer < b.producer : a.symbol.utf8.lexicographicallyPrecedes(b.symbol.utf8)
        }
        var payload = ByteBuffer()
        payload.reserveCapacity(ordered.reduce(2) { $0 + $1.payload.readableBytes })
        payload.writeInteger(UInt8(ascii: "["))
        var hidden = Array(repeating: [String](), count: ordered.count)
        var conflicted: Set<String> = []
        var shown = 0
        var last: (symbol: String, producer: Int)?
        for entry in entries {
            if let last, entry.symbol == last.symbol {
                hidden[entry.producer].append(entry.symbol)
                conflicted.insert(ordered[entry.producer].name)
                conflicted.insert(ordered[last.producer].name)
                continue
            }
            if shown > 0 { payload.writeInteger(UInt8(ascii: ",")) }
            payload.writeImmutableBuffer(entry.bytes)
            shown += 1
            last = (entry.symbol, entry.producer)
        }
        payload.writeInteger(UInt8(ascii: "]"))
        let header = SnapshotHeader(
            seq: ordered.reduce(0) { $0 &+ $1.header.seq },
            runID: Self.combinedRunID(ordered),
            generatedAt: ordered.map(\.header.generatedAt).max() ?? 0,
            intervalMilliseconds: ordered.map(\.header.intervalMilliseconds).min() ?? 0,
            charts: shown
        )
        let sources = ordered.enumerated().map { index, feed in feed.source(hidden: hidden[index]) }
        return (MergedSnapshot(header: header, payload: payload, delta: nil, sources: sources), conflicted)
    }

    /// Each producer's name and run: a change of it (a restart, a producer joining or
    /// forgotten) starts a new merged run, and delta clients a new full message.
    private var runSet: [String: String] { feeds.mapValues(\.header.runID) }

    /// Eight hex digits from the producers' names and runs (FNV-1a), the same in every gateway.
    static func combinedRunID(_ ordered: [ProducerFeed]) -> String {
        var hash: UInt32 = 2_166_136_261
        for feed in ordered {
            for byte in feed.name.utf8 + [0x1F] + feed.header.runID.utf8 + [0x1E] {
                hash = (hash ^ UInt32(byte)) &* 16_777_619
            }
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 8 - hex.count) + hex
    }

    /// The producer's delta under the merged message's header, with the producer's own
    /// `seq`, `run_id` and `generated_at` in `producer`, for its charts only.
    static func rewriteDelta(_ delta: ByteBuffer, of producer: SnapshotHeader, as merged: SnapshotHeader, base: UInt64) -> ByteBuffer? {
        let marker = Array(#","window_s":"#.utf8)
        let view = delta.readableBytesView
        guard let start = view.firstRange(of: marker)?.lowerBound else { return nil }
        let rest = delta.getSlice(at: start, length: view.endIndex - start)!
        var out = ByteBuffer()
        out.reserveCapacity(rest.readableBytes + 256)
        out.writeString(#"{"kind":"delta","seq":\#(merged.seq),"run_id":"#)
        out.writeString(JSONString.quoted(merged.runID))
        out.writeString(#","generated_at":\#(merged.generatedAt),"base_seq":\#(base),"producer":{"name":"#)
        out.writeString(JSONString.quoted(producer.producer ?? ""))
        out.writeString(#","seq":\#(producer.seq),"run_id":"#)
        out.writeString(JSONString.quoted(producer.runID))
        out.writeString(#","generated_at":\#(producer.generatedAt)}"#)
        out.writeImmutableBuffer(rest)
        return out
    }
}

/// One producer's latest snapshot, its charts found once on arrival.
struct ProducerFeed: Sendable {
    let name: String
    let header: SnapshotHeader
    let payload: ByteBuffer
    /// Its chart objects; `nil` while it is the only producer (its payload passes through whole).
    let charts: [ChartSlices.Chart]?
    let delta: ByteBuffer?
    let receivedAt: ContinuousClock.Instant

    /// Its symbols, in its order; `nil` while it is the only producer.
    let symbols: [String]?

    init(name: String, header: SnapshotHeader, payload: ByteBuffer, charts: [ChartSlices.Chart]?, delta: ByteBuffer?, receivedAt: ContinuousClock.Instant) {
        self.name = name
        self.header = header
        self.payload = payload
        self.charts = charts
        self.delta = delta
        self.receivedAt = receivedAt
        symbols = charts?.map(\.symbol)
    }

    func withCharts(_ charts: [ChartSlices.Chart]) -> ProducerFeed {
        ProducerFeed(name: name, header: header, payload: payload, charts: charts, delta: delta, receivedAt: receivedAt)
    }

    func source(hidden: [String]) -> ProducerSource {
        ProducerSource(
            name: name, runID: header.runID, seq: header.seq, generatedAt: header.generatedAt,
            intervalMilliseconds: header.intervalMilliseconds, charts: charts?.count ?? header.charts, hiddenSymbols: hidden, receivedAt: receivedAt,
            control: header.control, symbols: symbols
        )
    }
}

/// What a merged message holds of one producer: for status, readiness and waiting on a write.
public struct ProducerSource: Sendable {
    public let name: String
    public let runID: String
    public let seq: UInt64
    public let generatedAt: Int64
    public let intervalMilliseconds: Int64
    public let charts: Int
    /// Symbols this producer sends that another producer's charts are shown for.
    public let hiddenSymbols: [String]
    public let receivedAt: ContinuousClock.Instant
    /// Where the producer takes writes, as it announces it.
    public let control: ControlAddress?
    /// Its symbols (shown or hidden); `nil` when it is the only producer held.
    public let symbols: [String]?

    /// A producer whose last snapshot is at most 3 of its intervals old.
    public func isLive(at now: ContinuousClock.Instant = .now) -> Bool {
        receivedAt.duration(to: now) <= .milliseconds(intervalMilliseconds * 3)
    }
}

/// The message made from every producer's latest snapshot.
public struct MergedSnapshot: Sendable {
    public internal(set) var header: SnapshotHeader
    public internal(set) var payload: ByteBuffer
    /// The delta from the previous message (`header.deltaBaseSeq`), when one can be had.
    public internal(set) var delta: ByteBuffer?
    /// The producers held, in name order.
    public let sources: [ProducerSource]
    /// Producers dropped from this message for silence.
    public internal(set) var forgotten: [String] = []
}

/// A snapshot payload cut into its chart objects without decoding them.
enum ChartSlices {
    struct Chart: Sendable {
        let symbol: String
        let bytes: ByteBuffer
    }

    /// The chart objects of `payload`, or `nil` when it is not an array of objects whose first
    /// key is `symbol` (the order the producer writes, docs/protocol.md).
    static func split(_ payload: ByteBuffer) -> [Chart]? {
        guard let ranges = try? JSONArraySplitter.elementRanges(in: payload.readableBytesView) else { return nil }
        let prefix = Array(#"{"symbol":""#.utf8)
        var charts: [Chart] = []
        charts.reserveCapacity(ranges.count)
        for range in ranges {
            let bytes = payload.getSlice(at: payload.readerIndex + range.lowerBound, length: range.count)!
            let view = bytes.readableBytesView
            guard view.starts(with: prefix) else { return nil }
            let nameStart = view.startIndex + prefix.count
            guard let end = view[nameStart...].firstIndex(of: UInt8(ascii: "\"")),
                !view[nameStart..<end].contains(UInt8(ascii: "\\"))
            else { return nil }
            charts.append(Chart(symbol: String(decoding: view[nameStart..<end], as: UTF8.self), bytes: bytes))
        }
        return charts
    }
}
