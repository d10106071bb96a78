import Foundation
import Logging
import RollcastCore
import ServiceLifecycle
import ZeroMQ

/// Keeps the journal bounded by the windows, every ``period`` seconds: deletes chunks that are
/// out of every window and old batch ids, and compacts when the journal holds more than twice
/// the ticks the windows hold (merged duplicates, ticks dropped by the per-window cap).
final class JournalUpkeep: Service, Sendable {
    static let period = 5.0
    /// Compaction waits until the surplus passes this many ticks, so small journals never churn.
    static let slack = 100_000

    private let journal: Journal
    private let store: WindowStore
    private let logger: Logger
    private let signal = WakeSignal()

    init(journal: Journal, store: WindowStore, logger: Logger) {
        self.journal = journal
        self.store = store
        self.logger = logger
    }

    func run() async throws {
        try await ServiceThread.run(name: "rollcast-journal", stop: signal.stop) {
            while self.signal.wait(until: Date().addingTimeInterval(Self.period)) != .stopped {
                self.upkeep()
            }
        }
    }

    /// One round; failures are logged and tried again next round (nothing acknowledged is at stake).
    func upkeep() {
        let summary = store.summary()
        do {
            try journal.prune(
                chunksBefore: store.clock.now() - store.windowSeconds,
                batchIDsBefore: Date().timeIntervalSince1970 - BatchLedger.retention,
                keepingSymbols: Set(summary.symbols)
            )
        } catch {
            logger.error("journal could not be pruned", metadata: ["path": "\(journal.path)", "error": "\(error)"])
            return
        }
        defer {
            do {
                try journal.releaseSpace()
            } catch {
                logger.error("journal space could not be released", metadata: ["path": "\(journal.path)", "error": "\(error)"])
            }
        }
        let counters = journal.counters
        // The windows' total is an upper bound of what the journal's symbols hold: copy only when it may pay.
        guard counters.ticks > 2 * summary.points + Self.slack else { return }
        let (windows, mark, held) = store.copyWindows(of: counters.symbols) { journal.counters.lastChunkID }
        guard counters.ticks > 2 * held + Self.slack else { return }
        let started = ContinuousClock.now
        do {
            try journal.compact(windows, through: mark)
            logger.info(
                "journal compacted",
                metadata: [
                    "ticks_before": "\(counters.ticks)", "ticks_after": "\(journal.counters.ticks)",
                    "ms": "\(started.duration(to: .now).milliseconds)",
                ]
            )
        } catch {
            logger.error("journal could not be compacted", metadata: ["path": "\(journal.path)", "error": "\(error)"])
        }
    }
}
