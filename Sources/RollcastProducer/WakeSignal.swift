import Foundation

/// Wakes a thread that sleeps between rounds of work: to work now, or to stop.
///
/// The publisher sleeps on one between snapshots (a control command that changed the data
/// asks for a snapshot at once, so its effect is visible without waiting an interval); the
/// journal's upkeep sleeps on another between prunes.
final class WakeSignal: @unchecked Sendable {
    // Safe to share: every access to `requested` and `stopped` holds `condition`.
    private let condition = NSCondition()
    private var requested = false
    private var stopped = false

    enum Wake { case deadline, requested, stopped }

    /// Asks for a round of work as soon as possible.
    func requestPublish() {
        condition.withLock {
            requested = true
            condition.signal()
        }
    }

    /// Ends the sleeper's loop; lasts for good.
    func stop() {
        condition.withLock {
            stopped = true
            condition.signal()
        }
    }

    /// Whether ``stop()`` was called.
    var isStopped: Bool { condition.withLock { stopped } }

    /// Blocks until `deadline`, a request or a stop, whichever comes first.
    func wait(until deadline: Date) -> Wake {
        condition.withLock {
            while !stopped && !requested {
                if !condition.wait(until: deadline) { return .deadline }
            }
            if stopped { return .stopped }
            requested = false
            return .requested
        }
    }
}
