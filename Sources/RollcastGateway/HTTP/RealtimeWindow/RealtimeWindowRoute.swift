import Hummingbird

/// `GET /api/realtime_window`: the latest snapshot once, one chart object per line, then the
/// response ends.
struct RealtimeWindowRoute: Sendable {
    let broadcaster: SnapshotBroadcaster
    /// The NDJSON of the latest snapshot, made once and shared by every request for it.
    let cache = NDJSONCache()

    func answer() throws -> Response {
        guard let snapshot = broadcaster.latest else {
            throw APIError(.serviceUnavailable, "no snapshot has arrived from the producer yet")
        }
        return Response(
            status: .ok,
            headers: [.contentType: "application/x-ndjson", .cacheControl: "no-store"],
            body: .init(byteBuffer: try cache.ndjson(of: snapshot))
        )
    }
}
