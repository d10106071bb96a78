import Hummingbird

/// `GET /readyz`: whether this gateway can serve its clients. 200 while it holds a snapshot,
/// live or stale (the feed's state is in the body); 503 before the first snapshot, once it
/// has begun to shut down, and while it has `--max-clients` clients.
struct ReadinessRoute: Sendable {
    let broadcaster: SnapshotBroadcaster
    let metrics: GatewayMetrics
    let maxClients: Int

    struct Readiness: Encodable {
        let ready: Bool
        let feed: FeedState
        let reason: String?
        let lastSnapshotAgeMilliseconds: Int64?
        let seq: UInt64?
        let runID: String?

        enum CodingKeys: String, CodingKey {
            case ready, feed, reason, seq
            case lastSnapshotAgeMilliseconds = "last_snapshot_age_ms"
            case runID = "run_id"
        }
    }

    func answer() -> Response {
        let snapshot = broadcaster.latest
        let now = ContinuousClock.now
        let reason: String? =
            if broadcaster.isFinished {
                "the gateway is shutting down"
            } else if snapshot == nil {
                "no snapshot received yet"
            } else if metrics.connected.value >= maxClients {
                "the gateway has its maximum of \(maxClients) clients"
            } else {
                nil
            }
        return JSONBody.response(
            status: reason == nil ? .ok : .serviceUnavailable,
            Readiness(
                ready: reason == nil,
                feed: FeedState(snapshot, at: now),
                reason: reason,
                lastSnapshotAgeMilliseconds: snapshot.map { $0.receivedAt.duration(to: now).milliseconds },
                seq: snapshot?.header.seq,
                runID: snapshot?.header.runID
            )
        )
    }
}
