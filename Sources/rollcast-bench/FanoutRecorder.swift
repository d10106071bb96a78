import Foundation
import Synchronization

/// What every benchmark client reports: one (client, seq, latency) per snapshot received.
final class FanoutRecorder: Sendable {
    struct Arrival {
        let client: Int
        let seq: UInt64
        let latencyMilliseconds: Double
        /// The message's size on the wire (its payload, compressed if it was).
        let bytes: Int
    }

    private let arrivals = Mutex<[Arrival]>([])
    private let upgradedCount = Atomic<Int>(0)
    private let failedCount = Atomic<Int>(0)
    private let errorCount = Atomic<Int>(0)

    var upgraded: Int { upgradedCount.load(ordering: .relaxed) }
    var failed: Int { failedCount.load(ordering: .relaxed) }
    /// Connections that failed after the upgrade (protocol errors).
    var errors: Int { errorCount.load(ordering: .relaxed) }

    func markUpgraded() { upgradedCount.add(1, ordering: .relaxed) }
    func markFailed() { failedCount.add(1, ordering: .relaxed) }
    func markError() { errorCount.add(1, ordering: .relaxed) }

    /// Records a snapshot whose message began with `head` and was complete at `receivedAt`
    /// (Unix milliseconds) after `bytes` of payload. The fields come first in every chart
    /// object; 300 bytes hold them.
    func record(client: Int, head: String, receivedAt: Double, bytes: Int) {
        guard let seq = Self.number(after: #""seq":"#, in: head),
            let generated = Self.number(after: #""generated_at":"#, in: head)
        else { return }
        let arrival = Arrival(client: client, seq: UInt64(seq), latencyMilliseconds: receivedAt - generated, bytes: bytes)
        arrivals.withLock { $0.append(arrival) }
    }

    func snapshot() -> [Arrival] { arrivals.withLock { $0 } }

    static func number(after key: String, in text: String) -> Double? {
        guard let range = text.range(of: key) else { return nil }
        return Double(text[range.upperBound...].prefix { $0.isNumber || $0 == "." })
    }
}

/// Unix time in milliseconds, as `generated_at` is written.
func unixMilliseconds() -> Double { Date().timeIntervalSince1970 * 1000 }
