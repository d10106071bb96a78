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
struct SnapshotMerger {
    /// Most producers held at once; snapshots of more are refused (and logged).
    var maxProducers = 64
    /// A producer silent this long is forgotten and its charts leave the message.
    var forgetAfter: Duration

    private(set) var feeds: [String: ProducerFeed] = [:]
    /// The message last published, for the next delta's base.
    private var published: (runID: String, seq: UInt64)?

    init(forgetAfter: Duration) {
        self.forgetAfter = forgetAfter
    }

    enum Outcome {
        case publish(MergedSnapshot)
        /// A snapshot held already (a broker resends its cache when any gateway subscribes).
        case duplicate
        case refused(reason: String)
    }

    static let maxNameBytes = 64

    /// Takes one producer's snapshot and returns the message to publish, if any.
    mutating func accept(header: SnapshotHeader, payload: ByteBuffer, delta: ByteBuffer?, receivedAt: ContinuousClock.Instant) -> Outcome {
        let name = header.producer ?? ""
        guard name.utf8.count <= Self.maxNameBytes else { return .refused(reason: "producer name longer than \(Self.maxNameBytes) bytes") }
        let held = feeds[name]
        if let held, held.header.runID == header.runID, header.seq <= held.header.seq { return .duplicate }
        guard let charts = ChartSlices.split(payload) else {
            return .refused(reason: "payload is not a JSON array of chart objects that begin with their symbol")
        }
        let forgotten = feeds.values.filter { $0.name != name && $0.receivedAt.duration(to: receivedAt) > forgetAfter }.map(\.name).sorted()
        for silent in forgotten { feeds[silent] = nil }
        guard held != nil || feeds.count < maxProducers else {
            return .refused(reason: "the gateway holds its maximum of \(maxProducers) producers")
        }
        let before = (runs: runSet, conflicted: conflictedProducers)
        let feed = ProducerFeed(name: name, header: header, payload: payload, charts: charts, delta: delta, receivedAt: receivedAt)
        feeds[name] = feed

        var merged = feeds.count == 1 ? passThrough(feed) : merge()
        merged.forgotten = forgotten
        // A delta sits on the last message only when nothing but this producer's snapshot changed.
        if feeds.count > 1, let delta, let base = header.deltaBaseSeq, let published, let held,
            held.header.runID == header.runID, held.header.seq == base, before.runs == runSet,
            !before.conflicted.contains(name), !conflictedProducers.contains(name),
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
    private func merge() -> MergedSnapshot {
        let ordered = feeds.values.sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
        var entries: [(symbol: String, producer: Int, bytes: ByteBuffer)] = []
        entries.reserveCapacity(ordered.reduce(0) { $0 + $1.charts.count })
        for (index, feed) in ordered.enumerated() {
            for chart in feed.charts { entries.append((chart.symbol, index, chart.bytes)) }
        }
        entries.sort { a, b in
            a.symbol == b.symbol ? a.producer < b.producer : a.symbol.utf8.lexicographicallyPrecedes(b.symbol.utf8)
        }
        var payload = ByteBuffer()
        payload.reserveCapacity(ordered.reduce(2) { $0 + $1.payload.readableBytes })
        payload.writeInteger(UInt8(ascii: "["))
        var hidden = Array(repeating: [String](), count: ordered.count)
        var shown = 0
        var last: String?
        for entry in entries {
            if entry.symbol == last {
                hidden[entry.producer].append(entry.symbol)
                continue
            }
            if shown > 0 { payload.writeInteger(UInt8(ascii: ",")) }
            payload.writeImmutableBuffer(entry.bytes)
            shown += 1
            last = entry.symbol
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
        return MergedSnapshot(header: header, payload: payload, delta: nil, sources: sources)
    }

    /// Each producer's name and run: a change of it (a restart, a producer joining or
    /// forgotten) starts a new merged run, and delta clients a new full message.
    private var runSet: [String: String] { feeds.mapValues(\.header.runID) }

    /// Producers with a symbol another producer also claims.
    private var conflictedProducers: Set<String> {
        var owners: [String: String] = [:]
        var conflicted: Set<String> = []
        for feed in feeds.values {
            for chart in feed.charts {
                if let other = owners.updateValue(feed.name, forKey: chart.symbol), other != feed.name {
                    conflicted.insert(other)
                    conflicted.insert(feed.name)
                }
            }
        }
        return conflicted
    }

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
    let charts: [ChartSlices.Chart]
    let delta: ByteBuffer?
    let receivedAt: ContinuousClock.Instant

    func source(hidden: [String]) -> ProducerSource {
        ProducerSource(
            name: name, runID: header.runID, seq: header.seq, generatedAt: header.generatedAt,
            intervalMilliseconds: header.intervalMilliseconds, charts: charts.count, hiddenSymbols: hidden, receivedAt: receivedAt
        )
    }
}

/// What a merged message holds of one producer: for status, readiness and waiting on a write.
struct ProducerSource: Sendable {
    let name: String
    let runID: String
    let seq: UInt64
    let generatedAt: Int64
    let intervalMilliseconds: Int64
    let charts: Int
    /// Symbols this producer sends that another producer's charts are shown for.
    let hiddenSymbols: [String]
    let receivedAt: ContinuousClock.Instant

    /// A producer whose last snapshot is at most 3 of its intervals old.
    func isLive(at now: ContinuousClock.Instant = .now) -> Bool {
        receivedAt.duration(to: now) <= .milliseconds(intervalMilliseconds * 3)
    }
}

/// The message made from every producer's latest snapshot.
struct MergedSnapshot: Sendable {
    var header: SnapshotHeader
    var payload: ByteBuffer
    /// The delta from the previous message (`header.deltaBaseSeq`), when one can be had.
    var delta: ByteBuffer?
    /// The producers held, in name order.
    let sources: [ProducerSource]
    /// Producers dropped from this message for silence.
    var forgotten: [String] = []
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
