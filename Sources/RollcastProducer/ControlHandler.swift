import Foundation
import RollcastCore

/// Carries out control commands; every answer is sent only after its command is applied.
struct ControlHandler: Sendable {
    let store: WindowStore
    let feed: MockFeed
    let publisher: SnapshotPublisher
    let configuration: ProducerConfiguration

    /// Decodes, applies and answers one request; bad input becomes an error reply, never a crash.
    func handle(_ bytes: [UInt8]) -> ControlReply {
        let request: ControlRequest
        do {
            request = try JSONDecoder().decode(ControlRequest.self, from: Data(bytes))
        } catch {
            return ControlReply(error: "malformed command: \(DecodingErrorReason.describe(error))")
        }
        do {
            return try apply(request)
        } catch {
            return ControlReply(error: "\(error)")
        }
    }

    func apply(_ request: ControlRequest) throws -> ControlReply {
        switch request {
        case .loadMockData(let request):
            let request = try request.validated()
            let visibleFrom = try feed.load(request, now: MockFeed.now())
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
            // No early snapshot: a feed may send many batches per interval.
            return ControlReply(ingested: try store.ingest(try batch.validated()))
        case .publish:
            publisher.signal.requestPublish()
            return ControlReply(published: true)
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
                    snapshotEndpoint: configuration.snapshotEndpoint
                )
            )
        }
    }
}
