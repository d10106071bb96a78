import NIOCore
import RollcastCore
import Synchronization

/// One snapshot's messages for clients that chose their symbols, or whose tokens allow only some.
///
/// Each chart's bytes (its object in the payload, its entry in the delta) are cut from the
/// snapshot once, when the first such client takes a message; each distinct selection's
/// messages are then composed once from those slices, without decoding or re-encoding any
/// JSON, and shared by every client with that selection. How many selections there can be is
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
        let slices = slices.value { Slices(payload: payload, delta: producerDelta) }
        var body = ByteBuffer()
        for position in slices.chartIndex.positions(filter) {
            body.writeImmutableBuffer(slices.charts[position].bytes)
            body.writeInteger(UInt8(ascii: "\n"))
        }
        return body
    }

    private let header: SnapshotHeader
    private let payload: ByteBuffer
    private let producerDelta: ByteBuffer?
    private let slices = MadeOnce<Slices>()
    private let composed = Mutex<[ChartFilter: Messages]>([:])

    init(header: SnapshotHeader, payload: ByteBuffer, delta: ByteBuffer?) {
        self.header = header
        self.payload = payload
        producerDelta = delta
    }

    /// The messages for `selection`, composed by the first client that asks.
    func messages(for selection: ChartFilter) -> Messages {
        if let made = composed.withLock({ $0[selection] }) { return made }
        let slices = slices.value { Slices(payload: payload, delta: producerDelta) }
        let messages = compose(selection, from: slices)
        return composed.withLock { composed in
            if let made = composed[selection] { return made }
            composed[selection] = messages
            return messages
        }
    }

    private func compose(_ selection: ChartFilter, from slices: Slices) -> Messages {
        let positions = slices.chartIndex.positions(selection)
        let header = header
        let full = { @Sendable in ClientFrames(plain: SharedFrame(text: Self.array(slices.charts, at: positions)), deflater: nil) }
        let wrapped = { @Sendable in
            ClientFrames(plain: DeltaStreamFrames.fullMessage(header: header, charts: Self.array(slices.charts, at: positions)), deflater: nil)
        }
        let delta = slices.deltaMembers.map { members in
            { @Sendable in
                var parts = [ByteBuffer(string: "{")]
                for (position, member) in members.enumerated() {
                    parts.append(ByteBuffer(string: "\(position > 0 ? "," : "")\(JSONString.quoted(member.key)):"))
                    if let entries = member.entries, let index = member.index {
                        parts.append(contentsOf: Self.array(entries, at: index.positions(selection)))
                    } else {
                        parts.append(member.value)
                    }
                }
                parts.append(ByteBuffer(string: "}"))
                return ClientFrames(plain: SharedFrame(text: parts), deflater: nil)
            }
        }
        return Messages(full: full, deltaStream: DeltaStreamFrames(baseSeq: header.deltaBaseSeq, full: wrapped, delta: delta))
    }

    /// `[a,b,…]` of the entries at `positions` (in order), as the parts of a frame.
    private static func array(_ entries: [Slices.Entry], at positions: [Int]) -> [ByteBuffer] {
        var parts = [ByteBuffer(string: "[")]
        parts.reserveCapacity(positions.count * 2 + 1)
        let comma = ByteBuffer(string: ",")
        for position in positions {
            if parts.count > 1 { parts.append(comma) }
            parts.append(entries[position].bytes)
        }
        parts.append(ByteBuffer(string: "]"))
        return parts
    }

    /// A snapshot cut into the pieces a selection keeps or leaves.
    struct Slices: Sendable {
        struct Entry: Sendable {
            let symbol: String
            let bytes: ByteBuffer
        }

        /// A member of the delta object: its value as it is, or, for `charts`, `added` and
        /// `removed`, its entries by symbol.
        struct Member: Sendable {
            let key: String
            let value: ByteBuffer
            let entries: [Entry]?
            /// The entries by symbol, made with them.
            let index: EntryIndex?

            init(key: String, value: ByteBuffer, entries: [Entry]?) {
                self.key = key
                self.value = value
                self.entries = entries
                index = entries.map { EntryIndex(symbols: $0.map(\.symbol)) }
            }
        }

        /// The chart objects; none when the payload is not an array of them.
        let charts: [Entry]
        let chartIndex: EntryIndex
        /// The delta's members in order; `nil` without a delta, or when it cannot be cut (its
        /// clients then get full messages, which are exact).
        let deltaMembers: [Member]?

        init(payload: ByteBuffer, delta: ByteBuffer?) {
            charts = ChartSlices.split(payload)?.map { Entry(symbol: $0.symbol, bytes: $0.bytes) } ?? []
            chartIndex = EntryIndex(symbols: charts.map(\.symbol))
            deltaMembers = delta.flatMap(Self.members)
        }

        private static func members(of delta: ByteBuffer) -> [Member]? {
            guard let members = try? JSONArraySplitter.members(in: delta.readableBytesView) else { return nil }
            var result: [Member] = []
            for member in members {
                let value = delta.getSlice(at: delta.readerIndex + member.value.lowerBound, length: member.value.count)!
                switch member.key {
                case "charts", "added":
                    guard let entries = ChartSlices.split(value) else { return nil }
                    result.append(Member(key: member.key, value: value, entries: entries.map { Entry(symbol: $0.symbol, bytes: $0.bytes) }))
                case "removed":
                    guard let entries = removedSymbols(value) else { return nil }
                    result.append(Member(key: member.key, value: value, entries: entries))
                default:
                    result.append(Member(key: member.key, value: value, entries: nil))
                }
            }
            return result
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
