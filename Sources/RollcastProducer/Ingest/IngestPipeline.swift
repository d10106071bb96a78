import Foundation
import RollcastCore
import Synchronization

/// The one way real ticks reach the windows, whichever door they came in by: the batch is
/// read and checked once, skipped if its `batch_id` was applied already, and applied.
///
/// One lock (``state``) is held from the duplicate check to the apply, so the same batch
/// arriving twice at once (over HTTP and the ingest socket, say) is applied once, and so
/// batches reach the windows in one order. The windows' own lock is taken only to apply.
final class IngestPipeline: Sendable {
    enum Source: Sendable {
        case http
        case socket
    }

    private struct State {
        var ledger = BatchLedger()
        var status = IngestStatus()
    }

    let store: WindowStore
    let rules: TickRules
    private let state = Mutex(State())

    init(store: WindowStore, rules: TickRules) {
        self.store = store
        self.rules = rules
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
            refuse(error, from: source)
            throw error
        }
        return try apply(batch, from: source)
    }

    /// Applies a batch that was read and checked already.
    func apply(_ batch: TickBatch, from source: Source) throws(RequestError) -> IngestResult {
        let now = Date().timeIntervalSince1970
        return try state.withLock { state throws(RequestError) in
            if let id = batch.batchID, var first = state.ledger.result(for: id, now: now) {
                state.status[source].duplicates += 1
                first.duplicate = true
                return first
            }
            var result: IngestResult
            do throws(RequestError) {
                result = try store.ingest(batch.ticks)
            } catch {
                state.status[source].refused += 1
                state.status[source].lastRefusal = error.description
                throw error
            }
            result.batchID = batch.batchID
            if let id = batch.batchID { state.ledger.record(id, result: result, now: now) }
            state.status[source].batches += 1
            state.status[source].ticks += batch.ticks.count
            return result
        }
    }

    /// The ingest counters, with the windows' own.
    func status() -> IngestStatus {
        var status = state.withLock { $0.status }
        let summary = store.summary()
        status.ticksTooOld = summary.totals.tooOld
        status.ticksDroppedByCap = summary.totals.droppedByCap
        status.volumesCapped = summary.totals.volumesCapped
        status.symbolsReleased = summary.symbolsReleased
        return status
    }

    /// Counts a batch refused before it could be read (a message of the wrong shape).
    func countRefusal(_ error: RequestError, from source: Source) {
        refuse(error, from: source)
    }

    private func refuse(_ error: RequestError, from source: Source) {
        state.withLock { state in
            state.status[source].refused += 1
            state.status[source].lastRefusal = error.description
        }
    }
}

extension IngestStatus {
    fileprivate subscript(source: IngestPipeline.Source) -> Source {
        get {
            switch source {
            case .http: http
            case .socket: socket
            }
        }
        set {
            switch source {
            case .http: http = newValue
            case .socket: socket = newValue
            }
        }
    }
}
