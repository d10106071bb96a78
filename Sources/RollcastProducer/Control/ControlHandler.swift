import Foundation
import RollcastCore

/// Carries out control commands; every answer is sent only after its command is applied.
struct ControlHandler: Sendable {
    let store: WindowStore
    let ingest: IngestPipeline
    let feed: MockFeed
    let publisher: SnapshotPublisher
    let configuration: ProducerConfiguration
    /// The journal read back at start, with persistence on.
    let restored: Producer.RestoredJournal?
    let replayer: Replayer?

    /// Applies and answers one command; bad input becomes an error reply, never a crash.
    func reply(to request: ControlRequest) -> ControlReply {
        do {
            let reply = try apply(request)
            store.metrics.countControl(command: request.name, outcome: "ok")
            return reply
        } catch {
            store.metrics.countControl(command: request.name, outcome: error.isRetryable ? "unavailable" : "refused")
            return ControlReply(refusal: error)
        }
    }

    /// Applies and answers an ingest whose batch is read where it lies (a received message's bytes).
    func replyToIngest(_ batch: some ContiguousBytes) -> ControlReply {
        do throws(RequestError) {
            // No early snapshot: a feed may send many batches per interval.
            let reply = ControlReply(ingested: try ingest.ingest(batch, from: .http))
            store.metrics.countControl(command: "ingest", outcome: "ok")
            return reply
        } catch {
            store.metrics.countControl(command: "ingest", outcome: error.isRetryable ? "unavailable" : "refused")
            return ControlReply(refusal: error)
        }
    }

    func apply(_ request: ControlRequest) throws(RequestError) -> ControlReply {
        switch request {
        case .loadMockData(let request):
            let request = try request.validated()
            let visibleFrom = try feed.load(request)
            // Publish at once, so the gateway can answer as soon as the data is out.
            publisher.signal.requestPublish()
            return ControlReply(
                loaded: LoadedMockData(
                    symbols: request.symbols,
                    points: request.points,
                    seed: request.seed,
                    visibleFromSeq: visibleFrom,
                    runID: store.runID
                )
            )
        case .ingest(let batch):
            return ControlReply(ingested: try ingest.ingest(batch, from: .http))
        case .publish:
            publisher.signal.requestPublish()
            return ControlReply(published: true)
        case .metrics:
            let summary = store.summary()
            return ControlReply(metrics: String(decoding: store.metrics.exposition(symbols: summary.symbols.count, points: summary.points), as: UTF8.self))
        case .status:
            let summary = store.summary()
            return ControlReply(
                status: ProducerStatus(
                    runID: store.runID,
                    seq: summary.seq,
                    symbols: summary.symbols,
                    points: summary.points,
                    windowSeconds: configuration.windowSeconds,
                    intervalMilliseconds: configuration.intervalMilliseconds,
                    snapshotEndpoint: configuration.snapshotEndpoint,
                    clock: store.clock.kind.rawValue,
                    clockTime: store.clock.now(),
                    ingest: ingest.status(),
                    persistence: restored.map { restored in
                        PersistenceStatus(
                            path: restored.journal.path, bytes: restored.journal.sizeOnDisk, ticks: restored.journal.counters.ticks,
                            restoredTicks: restored.restoredTicks, restoreMilliseconds: restored.duration.milliseconds
                        )
                    },
                    replay: replayer?.status
                )
            )
        }
    }
}
