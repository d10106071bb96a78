import Foundation
import RollcastCore

/// One tick as a batch carries it, checked, before a window sees it.
public struct IncomingTick: Equatable, Sendable {
    public var symbol: String
    /// Unix seconds; fractions allowed.
    public var t: Double
    public var price: Double
    /// 0 when the batch gave none.
    public var volume: Double

    public init(symbol: String, t: Double, price: Double, volume: Double = 0) {
        self.symbol = symbol
        self.t = t
        self.price = price
        self.volume = volume
    }
}

/// A batch of ticks: the body of `POST /api/ingest` and of one ingest-socket message,
/// `{"ticks": [{"symbol": "AAPL", "t": 1795755511.012, "price": 189.25, "volume": 100}], "batch_id": "feed-1-000042"}`.
public struct TickBatch: Equatable, Sendable {
    public var ticks: [IncomingTick]
    /// Names the batch so that a retry is applied once; see ``BatchLedger``.
    public var batchID: String?

    public static let maxTicks = 10_000
    public static let maxBatchIDLength = 64

    /// Reads and checks a batch in one pass; see ``TickBatchReader``.
    /// - Throws: ``RequestError`` naming the first fault: a JSON error with its byte offset,
    ///   an unknown or missing field, or the first tick that breaks `rules` at clock time `now`.
    public static func read(_ bytes: some ContiguousBytes, rules: TickRules, now: Double) throws(RequestError) -> TickBatch {
        let result = bytes.withUnsafeBytes { buffer in
            Result { () throws(RequestError) in
                var reader = TickBatchReader(bytes: buffer, rules: rules, now: now)
                return try reader.readBatch()
            }
        }
        return try result.get()
    }
}
