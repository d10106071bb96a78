import Foundation
import RollcastCore

/// One series as it goes into a snapshot: a symbol and its window's ticks, in time order.
public struct SeriesSnapshot: Sendable {
    public var symbol: String
    public var ticks: [Tick]
    /// Ticks in the window before downsampling; equals `ticks.count` when none was done.
    public var rawCount: Int

    public init(symbol: String, ticks: [Tick], rawCount: Int? = nil) {
        self.symbol = symbol
        self.ticks = ticks
        self.rawCount = rawCount ?? ticks.count
    }
}

/// Turns the windows of one moment into the JSON array that every browser receives.
///
/// The producer calls this once per snapshot and the bytes are relayed unchanged, so it
/// writes UTF-8 directly: no intermediate objects, numbers formatted without allocating
/// where possible (``JSONNumberWriter``). `docs/performance.md` compares it with
/// Foundation's `JSONEncoder` (``encodeWithFoundation(_:header:windowSeconds:)``).
public struct SnapshotEncoder: Sendable {
    public init() {}

    /// Encodes `series` (in the order given) as a JSON array of ``ChartObject``s.
    public func encode(_ series: [SeriesSnapshot], header: SnapshotHeader, windowSeconds: Double) -> [UInt8] {
        var out: [UInt8] = []
        // About 30 bytes per point (time, price, volume and separators) plus the fields.
        out.reserveCapacity(series.reduce(2) { $0 + 200 + $1.ticks.count * 32 })
        // Fields every chart shares, written once.
        let shared = sharedFields(header, windowSeconds: windowSeconds)

        out.append(UInt8(ascii: "["))
        for (index, series) in series.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            writeChart(series, shared: shared, to: &out)
        }
        out.append(UInt8(ascii: "]"))
        return out
    }

    /// The fields every chart of a snapshot shares, after `symbol`: `,"seq":…,"interval_ms":…`.
    private func sharedFields(_ header: SnapshotHeader, windowSeconds: Double) -> [UInt8] {
        var shared: [UInt8] = []
        append(#","seq":"#, to: &shared)
        append(String(header.seq), to: &shared)
        append(#","run_id":"#, to: &shared)
        writeString(header.runID, to: &shared)
        append(#","generated_at":"#, to: &shared)
        append(String(header.generatedAt), to: &shared)
        append(#","window_s":"#, to: &shared)
        JSONNumberWriter.write(windowSeconds, to: &shared)
        append(#","interval_ms":"#, to: &shared)
        append(String(header.intervalMilliseconds), to: &shared)
        return shared
    }

    /// One ``ChartObject``.
    private func writeChart(_ series: SeriesSnapshot, shared: [UInt8], to out: inout [UInt8]) {
        append(#"{"symbol":"#, to: &out)
        writeString(series.symbol, to: &out)
        out.append(contentsOf: shared)
        append(#","raw_points":"#, to: &out)
        append(String(series.rawCount), to: &out)
        writePoints(series.ticks[...], to: &out)
        out.append(UInt8(ascii: "}"))
    }

    /// `,"t":[…],"price":[…],"volume":[…]`
    private func writePoints(_ ticks: ArraySlice<Tick>, to out: inout [UInt8]) {
        append(#","t":["#, to: &out)
        writeNumbers(ticks, \.time, to: &out)
        append(#"],"price":["#, to: &out)
        writeNumbers(ticks, \.price, to: &out)
        append(#"],"volume":["#, to: &out)
        writeNumbers(ticks, \.volume, to: &out)
        out.append(UInt8(ascii: "]"))
    }

    /// The delta message from the snapshot `baseSeq` to the one `header` describes; see
    /// ``SnapshotDelta`` and docs/protocol.md. Its first keys are `kind`, `seq`, `run_id`,
    /// `generated_at`, so a reader can route it from its first bytes.
    public func encodeDelta(_ delta: SnapshotDelta, header: SnapshotHeader, baseSeq: UInt64, windowSeconds: Double) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256 + delta.changes.reduce(0) { $0 + 80 + $1.appended.count * 32 } + delta.added.reduce(0) { $0 + 200 + $1.ticks.count * 32 })
        append(#"{"kind":"delta""#, to: &out)
        let shared = sharedFields(header, windowSeconds: windowSeconds)
        // `,"seq":S,"run_id":R,"generated_at":G` first, then the base, then the rest.
        let windowKey = Array(#","window_s":"#.utf8)
        let split = shared.firstRange(of: windowKey)!.lowerBound
        out.append(contentsOf: shared[..<split])
        append(#","base_seq":"#, to: &out)
        append(String(baseSeq), to: &out)
        out.append(contentsOf: shared[split...])
        append(#","charts":["#, to: &out)
        for (index, change) in delta.changes.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            append(#"{"symbol":"#, to: &out)
            writeString(change.symbol, to: &out)
            append(#","raw_points":"#, to: &out)
            append(String(change.rawCount), to: &out)
            append(#","drop":"#, to: &out)
            append(String(change.drop), to: &out)
            append(#","replace":"#, to: &out)
            append(String(change.replace), to: &out)
            writePoints(change.appended, to: &out)
            out.append(UInt8(ascii: "}"))
        }
        append(#"],"added":["#, to: &out)
        for (index, series) in delta.added.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            writeChart(series, shared: shared, to: &out)
        }
        append(#"],"removed":["#, to: &out)
        for (index, symbol) in delta.removed.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            writeString(symbol, to: &out)
        }
        append("]}", to: &out)
        return out
    }

    /// The same snapshot through `Codable` and `JSONEncoder`: the reference for tests and benchmarks.
    public func encodeWithFoundation(_ series: [SeriesSnapshot], header: SnapshotHeader, windowSeconds: Double) throws -> [UInt8] {
        let charts = series.map { series in
            ChartObject(
                symbol: series.symbol, seq: header.seq, runID: header.runID, generatedAt: header.generatedAt,
                windowSeconds: windowSeconds, intervalMilliseconds: header.intervalMilliseconds, rawPoints: series.rawCount,
                t: series.ticks.map(\.time), price: series.ticks.map(\.price), volume: series.ticks.map(\.volume)
            )
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return Array(try encoder.encode(charts))
    }

    private func writeNumbers(_ ticks: ArraySlice<Tick>, _ field: KeyPath<Tick, Double>, to out: inout [UInt8]) {
        for index in ticks.indices {
            if index > ticks.startIndex { out.append(UInt8(ascii: ",")) }
            JSONNumberWriter.write(ticks[index][keyPath: field], to: &out)
        }
    }

    private func append(_ literal: String, to out: inout [UInt8]) {
        out.append(contentsOf: literal.utf8)
    }

    private func writeString(_ string: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [0x5C, 0x22])
            case UInt8(ascii: "\\"): out.append(contentsOf: [0x5C, 0x5C])
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
