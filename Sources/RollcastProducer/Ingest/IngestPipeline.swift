import Foundation
import RollcastCore
import Synchronization

/// The one way real ticks reach the windows, whichever door they came in by: the batch is
/// read and checked once, skipped if its `batch_id` was applied already, applied, and with
/// persistence on written to the journal before the answer.
///
/// One lock (``state``) is held from the duplicate check to the apply, so the same batch
/// arriving twice at once (over HTTP and the ingest socket, say) is applied once, and so
/// batches reach the windows in one order. The windows' own lock is held while the journal
/// writes, so no snapshot shows a batch before it is on disk.
final class IngestPipeline: Sendable {
    enum Source: Sendable {
        case http
        case socket
    }

    private struct State {
        var ledger = BatchLedger()
        /// Why the last refused batch of each source was refused; the counts are in ``metrics``.
        var lastRefusal: [Source: String] = [:]
    }

    let store: WindowStore
    let rules: TickRules
    let journal: Journal?
    private var metrics: ProducerMetrics { store.metrics }
    private let failStop: FailStop?
    private let state: Mutex<State>

    /// - Parameter ledger: batch ids already applied (read back from the journal at start).
    init(store: WindowStore, rules: TickRules, journal: Journal? = nil, failStop: FailStop? = nil, ledger: BatchLedger = BatchLedger()) {
        self.store = store
        self.rules = rules
        self.journal = journal
        self.failStop = failStop
        self.state = Mutex(State(ledger: ledger))
    }

    /// Reads, checks and applies one batch (its JSON bytes).
    /// - Returns: what the windows did with it, or for a repeated `batch_id` the first answer
    ///   with `duplicate: true`.
    /// - Throws: ``RequestError`` naming the first fault; the windows are then unchanged.
    func ingest(_ bytes: some ContiguousBytes, from source: Source) throws(RequestError) -> IngestResult {
        let batch: TickBatch
        do {
            batch = try TickBatch.read(bytes, rules: rules, now: store.clock.now())
        } catch {
            refuse(error, from: source, as: .invalid)
            throw error
        }
        return try apply(batch, from: source)
    }

    /// Applies a batch that was read and checked already.
    func apply(_ batch: TickBatch, from source: Source) throws(RequestError) -> IngestResult {
        let now = Date().timeIntervalSince1970
        let journal = self.journal
        func record(_ chunk: TickChunk, _ result: IngestResult) throws(RequestError) {
            guard let journal else { return }
            try persist(chunk, result: result, batchID: batch.batchID, at: now, in: journal)
        }
        return try state.withLock { state throws(RequestError) in
            if let reason = failStop?.stoppingReason {
                metrics.source(source).refused[.unavailable]?.increment()
                throw .unavailable("the producer is stopping: \(reason)")
            }
            if let id = batch.batchID, var first = state.ledger.result(for: id, now: now) {
                metrics.source(source).duplicates.increment()
                first.duplicate = true
                // Read back after a restart, the answer has no seq of this run: the data is in the next snapshot.
                if first.visibleFromSeq == 0 { first.visibleFromSeq = store.nextSeq }
                return first
            }
            var result: IngestResult
            do throws(RequestError) {
                result = try store.ingest(batch.ticks, persist: journal == nil ? nil : record)
            } catch {
                metrics.source(source).refused[error.isRetryable ? .unavailable : .limit]?.increment()
                state.lastRefusal[source] = error.description
                throw error
            }
            result.batchID = batch.batchID
            if let id = batch.batchID { state.ledger.record(id, result: result, now: now) }
            metrics.source(source).batches.increment()
            metrics.source(source).ticks.increment(by: batch.ticks.count)
            return result
        }
    }

    private func persist(_ chunk: TickChunk, result: IngestResult, batchID: String?, at now: Double, in journal: Journal) throws(RequestError) {
        do {
            try journal.append(chunk, batchID: batchID, result: result, appliedAt: now)
        } catch {
            // Applied in memory but not on disk: only a restart from the journal is sure to be true.
            let reason = "the data directory cannot be written (\(error))"
            failStop?.trigger(reason)
            throw .unavailable("the batch could not be made durable and was not acknowledged: \(reason); the producer is stopping")
        }
    }

    /// The ingest counters and the windows' own, read from ``ProducerMetrics``.
    func status() -> IngestStatus {
        let lastRefusal = state.withLock { $0.lastRefusal }
        func source(_ source: Source) -> IngestStatus.Source {
            let counters = metrics.source(source)
            var status = IngestStatus.Source()
            status.batches = counters.batches.value
            status.ticks = counters.ticks.value
            status.duplicates = counters.duplicates.value
            status.refused = counters.refusedTotal
            status.lastRefusal = lastRefusal[source]
            return status
        }
        var status = IngestStatus()
        status.http = source(.http)
        status.socket = source(.socket)
        status.ticksTooOld = metrics.tooOld.value
        status.ticksDroppedByCap = metrics.droppedByCap.value
        status.volumesCapped = metrics.volumesCapped.value
        status.symbolsReleased = metrics.symbolsReleased.value
        return status
    }

    /// Counts a batch refused before it could be read (a message of the wrong shape).
    func countRefusal(_ error: RequestError, from source: Source) {
        refuse(error, from: source, as: .invalid)
    }

    private func refuse(_ error: RequestError, from source: Source, as reason: IngestRefusal) {
        metrics.source(source).refused[reason]?.increment()
        state.withLock { $0.lastRefusal[source] = error.description }
    }
}
