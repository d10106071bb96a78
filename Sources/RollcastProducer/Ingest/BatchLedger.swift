import DequeModule
import RollcastCore

/// The batch ids the producer applied lately, so that a batch sent again (a retry after a
/// timeout or a 503) is answered as before and applied zero times.
///
/// Holds at most ``capacity`` ids, each for ``retention`` seconds (wall clock); the oldest
/// are forgotten first. About 200 bytes per id: 20 MB when full.
struct BatchLedger: Sendable {
    static let capacity = 100_000
    static let retention: Double = 600

    struct Entry: Sendable, Equatable {
        var id: String
        /// Unix seconds when the batch was applied.
        var appliedAt: Double
        var result: IngestResult
    }

    private var results: [String: IngestResult] = [:]
    private var order: Deque<(id: String, appliedAt: Double)> = []

    init() {}

    var count: Int { results.count }

    /// The answer first given to batch `id`, if it was applied within the retention.
    mutating func result(for id: String, now: Double) -> IngestResult? {
        forget(before: now - Self.retention)
        return results[id]
    }

    /// Remembers that batch `id` was applied with `result` at `now`.
    mutating func record(_ id: String, result: IngestResult, now: Double) {
        forget(before: now - Self.retention)
        if results.updateValue(result, forKey: id) == nil {
            order.append((id, now))
        }
        while order.count > Self.capacity {
            results[order.removeFirst().id] = nil
        }
    }

    /// The ids still remembered, oldest first (for persistence).
    var entries: [Entry] {
        order.compactMap { item in results[item.id].map { Entry(id: item.id, appliedAt: item.appliedAt, result: $0) } }
    }

    private mutating func forget(before cutoff: Double) {
        while let first = order.first, first.appliedAt < cutoff {
            results[first.id] = nil
            order.removeFirst()
        }
    }
}
