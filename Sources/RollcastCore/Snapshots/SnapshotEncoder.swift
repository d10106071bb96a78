import Foundation

/// One series as it goes into a snapshot: a symbol and its window's ticks, in time order.
public struct SeriesSnapshot: Sendable {
    public var symbol: String
    public var ticks: [Tick]

    public init(symbol: String, ticks: [Tick]) {
        self.symbol = symbol
        self.ticks = ticks
    }
}

/// Turns the windows of one moment into the JSON array that every browser receives.
///
/// The producer calls this once per snapshot; the bytes are relayed unchanged.
public struct SnapshotEncoder: Sendable {
    public init() {}

    /// Encodes `series` (in the order given) as a JSON array of ``ChartObject``s.
    public func encode(_ series: [SeriesSnapshot], header: SnapshotHeader, windowSeconds: Double) throws -> [UInt8] {
        let charts = series.map { series in
            ChartObject(
                symbol: series.symbol,
                seq: header.seq,
                runID: header.runID,
                generatedAt: header.generatedAt,
                windowSeconds: windowSeconds,
                intervalMilliseconds: header.intervalMilliseconds,
                t: series.ticks.map(\.time),
                price: series.ticks.map(\.price),
                volume: series.ticks.map(\.volume)
            )
        }
        let encoder = JSONEncoder()
        // Sorted keys keep the bytes the same for the same data, which tests and caches like.
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(charts))
    }
}
