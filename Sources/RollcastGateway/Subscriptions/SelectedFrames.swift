import NIOCore
import RollcastCore
import Synchronization

/// One snapshot's messages for clients that chose their symbols, or whose tokens allow only some.
///
/// Each chart's bytes (its object in the payload, its entry in the delta) are cut from the
/// snapshot once, when the first such client takes a message that needs them (the payload's
/// charts only for a full message: delta clients, once connected, need only the delta's); each
/// distinct selection's messages are then composed once from those slices, without decoding or re-encoding any
/// JSON, and shared by every client with that selection (with one compressed copy, when the
/// gateway compresses). How many selections there can be is
/// bounded by ``SubscriptionSets``.
final class SelectedFrames: Sendable {
    /// A selection's messages: the full stream's array, and the delta stream's pair, each
    /// composed when a client first takes it (a selection's delta clients, once connected, take
    /// only its delta: composing its full messages too would copy its charts twice per snapshot).
    final class Messages: Sendable {
        let deltaStream: DeltaStreamFrames
        private let fullFrames = MadeOnce<ClientFrames>()
        private let makeFull: @Sendable () -> ClientFrames

        var full: ClientFrames { fullFrames.value(orMake: makeFull) }

        init(full: @escaping @Sendable () -> ClientFrames, deltaStream: DeltaStreamFrames) {
            makeFull = full
            self.deltaStream = deltaStream
        }
    }

    /// The chart objects `filter` keeps, one per line (`GET /api/realtime_window`).
    func ndjson(for filter: ChartFilter) -> ByteBuffer {
        let charts = charts
        var body = ByteBuffer()
        for position in charts.index.positions(filter) {
            body.writeImmutableBuffer(charts.entries[position].bytes)
            body.writeInteger(UInt8(ascii: "\n"))
        }
        return body
    }

    private let header: SnapshotHeader
    private let payload: ByteBuffer
    private let producerDelta: ByteBuffer?
    private let chartSlices = MadeOnce<ChartPieces>()
    private let deltaSlices = MadeOnce<DeltaPieces?>()
    private let composed = Mutex<[ChartFilter: Messages]>([:])

    /// Compresses each composed message once, for every client of the selection that
    /// negotiated `permessage-deflate`; `nil` without compression.
    private let deflaters: DeflaterPool?
    /// The pool of every snapshot's selections: deflaters outlive snapshots.
    static let sharedDeflaters = DeflaterPool()

    init(header: SnapshotHeader, payload: ByteBuffer, delta: ByteBuffer?, compress: Bool = false) {
        self.header = header
        self.payload = payload
        producerDelta = delta
        deflaters = compress ? Self.sharedDeflaters : nil
    }

    /// The messages for `selection`, composed by the first client that asks.
    func messages(for selection: ChartFilter) -> Messages {
        if let made = composed.withLock({ $0[selection] }) { return made }
        let messages = compose(selection)
        return composed.withLock { composed in
            if let made = composed[selection] { return made }
            composed[selection] = messages
            return messages
        }
    }

    /// The payload's chart objects, cut when first needed.
    private var charts: ChartPieces { Self.charts(of: payload, in: chartSlices) }

    private static func charts(of payload: ByteBuffer, in slices: MadeOnce<ChartPieces>) -> ChartPieces {
        slices.value(orMake: { ChartPieces(payload: payload) })
    }

    private func compose(_ selection: ChartFilter) -> Messages {
        let (header, payload, chartSlices, deflaters) = (header, payload, chartSlices, deflaters)
        // Each closure cuts what it needs when first called: a full message the payload's charts.
        // (They hold the pieces, not this object, which holds them: no cycle.)
        let full = { @Sendable in
            let charts = Self.charts(of: payload, in: chartSlices)
            return ClientFrames(plain: SharedFrame(text: Self.array(charts.entries, at: charts.index.positions(selection))), pool: deflaters)
        }
        let wrapped = { @Sendable in
            let charts = Self.charts(of: payload, in: chartSlices)
            return ClientFrames(
                plain: DeltaStreamFrames.fullMessage(header: header, charts: Self.array(charts.entries, at: charts.index.positions(selection))), pool: deflaters
            )
        }
        let delta = deltaSlices.value(orMake: { producerDelta.flatMap(DeltaPieces.init) }).map { pieces in
            { @Sendable in ClientFrames(plain: SharedFrame(text: pieces.parts(for: selection)), pool: deflaters) }
        }
        return Messages(full: full, deltaStream: DeltaStreamFrames(baseSeq: header.deltaBaseSeq, full: wrapped, delta: delta))
    }

    static let open = ByteBuffer(string: "[")
    static let comma = ByteBuffer(string: ",")
    static let close = ByteBuffer(string: "]")

    /// `[a,b,…]` of the entries at `positions` (in order), as the parts of a frame.
    static func array(_ entries: [Entry], at positions: [Int]) -> [ByteBuffer] {
        var parts = [open]
        parts.reserveCapacity(positions.count * 2 + 1)
        for position in positions {
            if parts.count > 1 { parts.append(comma) }
            parts.append(entries[position].bytes)
        }
        parts.append(close)
        return parts
    }

    /// A chart object, or an entry of the delta, with its symbol.
    struct Entry: Sendable {
        let symbol: String
        let bytes: ByteBuffer
    }

    /// The payload's chart objects, by symbol; none when the payload is not an array of them.
    struct ChartPieces: Sendable {
        let entries: [Entry]
        let index: EntryIndex

        init(payload: ByteBuffer) {
            entries = ChartSlices.split(payload)?.map { Entry(symbol: $0.symbol, bytes: $0.bytes) } ?? []
            index = EntryIndex(symbols: entries.map(\.symbol))
        }
    }

    /// The delta cut into its members: each kept as it is, or, for `charts`, `added` and
    /// `removed`, as entries by symbol, with the text that leads each member (`{"kind":`,
    /// `,"seq":`…) made once.
    struct DeltaPieces: Sendable {
        struct Member: Sendable {
            let lead: ByteBuffer
            let value: ByteBuffer
            let entries: [Entry]?
            let index: EntryIndex?
        }

        let members: [Member]
        static let end = ByteBuffer(string: "}")

        /// `nil` when the delta cannot be cut (its clients then get full messages, which are exact).
        init?(_ delta: ByteBuffer) {
            guard let found = try? JSONArraySplitter.members(in: delta.readableBytesView) else { return nil }
            var members: [Member] = []
            for (position, member) in found.enumerated() {
                let value = delta.getSlice(at: delta.readerIndex + member.value.lowerBound, length: member.value.count)!
                let lead = ByteBuffer(string: "\(position == 0 ? "{" : ",")\(JSONString.quoted(member.key)):")
                let entries: [Entry]?
                switch member.key {
                case "charts", "added":
                    guard let split = ChartSlices.split(value) else { return nil }
                    entries = split.map { Entry(symbol: $0.symbol, bytes: $0.bytes) }
                case "removed":
                    guard let split = Self.removedSymbols(value) else { return nil }
                    entries = split
                default:
                    entries = nil
                }
                members.append(Member(lead: lead, value: value, entries: entries, index: entries.map { EntryIndex(symbols: $0.map(\.symbol)) }))
            }
            guard !members.isEmpty else { return nil }
            self.members = members
        }

        /// The delta of `selection`, as the parts of a frame.
        func parts(for selection: ChartFilter) -> [ByteBuffer] {
            var parts: [ByteBuffer] = []
            parts.reserveCapacity(members.count * 2 + 12)
            for member in members {
                parts.append(member.lead)
                if let entries = member.entries, let index = member.index {
                    parts.append(contentsOf: SelectedFrames.array(entries, at: index.positions(selection)))
                } else {
                    parts.append(member.value)
                }
            }
            parts.append(Self.end)
            return parts
        }

        /// `["A","B"]`'s strings, each with its bytes as written.
        private static func removedSymbols(_ array: ByteBuffer) -> [Entry]? {
            guard let ranges = try? JSONArraySplitter.elementRanges(in: array.readableBytesView) else { return nil }
            var entries: [Entry] = []
            for range in ranges {
                let bytes = array.getSlice(at: array.readerIndex + range.lowerBound, length: range.count)!
                let view = bytes.readableBytesView
                guard view.count >= 2, view.first == UInt8(ascii: "\""), view.last == UInt8(ascii: "\""),
                    !view.contains(UInt8(ascii: "\\"))
                else { return nil }
                entries.append(Entry(symbol: String(decoding: view.dropFirst().dropLast(), as: UTF8.self), bytes: bytes))
            }
            return entries
        }
    }
}
