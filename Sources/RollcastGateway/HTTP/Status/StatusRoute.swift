import Hummingbird
import RollcastCore

/// `GET /api/status`: the gateway's clients and feed, each producer's charts in the message,
/// and the producer's own status (windows, ingest counters), asked for with a short deadline.
struct StatusRoute: Sendable {
    let broadcaster: SnapshotBroadcaster
    let metrics: GatewayMetrics
    let producers: ProducerLink
    let snapshotEndpoints: [String]
    let controlEndpoint: String

    /// A producer whose charts the gateway's message holds.
    struct Source: Encodable {
        let name: String
        let runID: String
        let seq: UInt64
        let charts: Int
        let live: Bool
        let lastSnapshotAgeMilliseconds: Int64
        let hiddenSymbols: Int
        /// The first few of them, for the operator to look at.
        let hiddenSymbolsSample: [String]

        init(_ source: ProducerSource, now: ContinuousClock.Instant) {
            name = source.name
            runID = source.runID
            seq = source.seq
            charts = source.charts
            live = source.isLive(at: now)
            lastSnapshotAgeMilliseconds = source.receivedAt.duration(to: now).milliseconds
            hiddenSymbols = source.hiddenSymbols.count
            hiddenSymbolsSample = Array(source.hiddenSymbols.prefix(10))
        }

        enum CodingKeys: String, CodingKey {
            case name, seq, charts, live
            case runID = "run_id"
            case lastSnapshotAgeMilliseconds = "last_snapshot_age_ms"
            case hiddenSymbols = "hidden_symbols"
            case hiddenSymbolsSample = "hidden_symbols_sample"
        }
    }

    struct Status: Encodable {
        let clients: Int
        let clientsRefused: Int
        let connections: Int
        let connectionsRefused: Int
        let slowClientsClosed: Int
        let pingTimeouts: Int
        let snapshotsSkipped: Int
        let feed: FeedState
        let seq: UInt64?
        let runID: String?
        let charts: Int?
        let snapshotBytes: Int?
        let lastSnapshotAgeMilliseconds: Int64?
        let snapshotEndpoint: String
        let controlEndpoint: String
        /// Every producer the message holds charts of, in name order.
        let sources: [Source]
        /// The producer's own status (windows, ingest counters), asked for with a short deadline.
        let producer: ProducerStatus?
        let producerError: String?
        /// With several producers, each one's own status, asked for at once.
        let producers: [ProducerAnswer]?

        enum CodingKeys: String, CodingKey {
            case clients, feed, seq, charts, producer, sources, producers
            case producerError = "producer_error"
            case clientsRefused = "clients_refused"
            case connections
            case connectionsRefused = "connections_refused"
            case slowClientsClosed = "slow_clients_closed"
            case pingTimeouts = "ping_timeouts"
            case snapshotsSkipped = "snapshots_skipped"
            case runID = "run_id"
            case snapshotBytes = "snapshot_bytes"
            case lastSnapshotAgeMilliseconds = "last_snapshot_age_ms"
            case snapshotEndpoint = "snapshot_endpoint"
            case controlEndpoint = "control_endpoint"
        }
    }

    /// One producer's own status, or why it could not be had.
    struct ProducerAnswer: Encodable {
        let name: String
        let status: ProducerStatus?
        let error: String?
    }

    func answer() async -> Response {
        var producer: ProducerStatus?
        var producerError: String?
        let router = producers.router
        // Each producer's, at once, with several; `--control-endpoint`'s alone otherwise.
        async let all = router.isSharded ? producerStatuses(router) : nil
        do {
            let reply = try await producers.ask(.status)
            producer = reply.status
            producerError = reply.error
        } catch {
            producerError = "\(error)"
        }
        let producers = await all
        let snapshot = broadcaster.latest
        return JSONBody.response(
            Status(
                clients: metrics.connected.value,
                clientsRefused: metrics.refused.value,
                connections: metrics.connections.value,
                connectionsRefused: metrics.connectionsRefused.value,
                slowClientsClosed: metrics.slowClosed.value,
                pingTimeouts: metrics.pingTimeouts.value,
                snapshotsSkipped: metrics.snapshotsSkipped.value,
                feed: FeedState(snapshot, at: .now),
                seq: snapshot?.header.seq,
                runID: snapshot?.header.runID,
                charts: snapshot?.header.charts,
                snapshotBytes: snapshot?.payload.readableBytes,
                lastSnapshotAgeMilliseconds: snapshot.map { $0.receivedAt.duration(to: .now).milliseconds },
                snapshotEndpoint: snapshotEndpoints.joined(separator: ","),
                controlEndpoint: controlEndpoint,
                sources: snapshot.map { snapshot in snapshot.sources.map { Source($0, now: .now) } } ?? [],
                producer: producer,
                producerError: producerError,
                producers: producers
            )
        )
    }

    /// Every producer's own status.
    func producerStatuses(_ router: ProducerRouter) async -> [ProducerAnswer] {
        await producers.askEveryProducer(.status, router).map { producer, reply in
            switch reply {
            case .success(let reply): ProducerAnswer(name: producer, status: reply.status, error: reply.error)
            case .failure(let unreachable as ProducerRouter.Unreachable): ProducerAnswer(name: producer, status: nil, error: unreachable.reason)
            case .failure(let error): ProducerAnswer(name: producer, status: nil, error: "\(error)")
            }
        }
    }
}
