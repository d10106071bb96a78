import Hummingbird

/// `GET /api/realtime_window`: the latest snapshot once, one chart object per line, then the
/// response ends; a token limited to some symbols gets only their charts.
struct RealtimeWindowRoute: Sendable {
    let broadcaster: SnapshotBroadcaster
    /// Whether tokens are checked (a `symbols` claim then limits the answer).
    let tokensOn: Bool
    /// The NDJSON of the latest snapshot, made once and shared by every request for it.
    let cache = NDJSONCache()

    func answer(_ request: Request) throws -> Response {
        guard let snapshot = broadcaster.latest else {
            throw APIError(.serviceUnavailable, "no snapshot has arrived from the producer yet")
        }
        let allowed = tokensOn ? TokenAuthority.symbols(ofAdmitted: BearerToken.fromAuthorization(request.headers[.authorization])) : nil
        let body = try allowed.map { snapshot.selected.ndjson(for: ChartFilter(chosen: nil, allowed: $0)) } ?? cache.ndjson(of: snapshot)
        return Response(
            status: .ok,
            headers: [.contentType: "application/x-ndjson", .cacheControl: "no-store"],
            body: .init(byteBuffer: body)
        )
    }
}
