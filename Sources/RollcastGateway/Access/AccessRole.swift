/// What a token lets its holder do.
///
/// `read` sees the data: the WebSocket, `GET /api/realtime_window`, `/api/status`, `/metrics`.
/// `write` also changes it: `POST /api/ingest`, and `POST /api/test/load_mock_data` where the
/// test API is on. A feed handler's token is `write`; a desk's dashboard gets `read`.
public enum AccessRole: String, Sendable, CaseIterable, Comparable {
    case read
    case write

    /// Whether a token of this role may do what `needed` allows.
    func grants(_ needed: AccessRole) -> Bool { self >= needed }

    public static func < (lhs: AccessRole, rhs: AccessRole) -> Bool {
        lhs == .read && rhs == .write
    }

    /// The role a request for `path` needs, or `nil` for what anyone may fetch: the dashboard's
    /// files (they hold no data and are needed to present a token at all), `/healthz` and
    /// `/readyz` (for load balancers and supervisors).
    static func needed(forPath path: String) -> AccessRole? {
        if path.hasPrefix("/api/test/") { return .write }
        if writeRoutes.contains(path) { return .write }
        if readRoutes.contains(path) { return .read }
        return nil
    }

    static let readRoutes = ["/api/realtime_window", "/api/status", "/metrics", "/ws/realtime_charts"]
    static let writeRoutes = ["/api/ingest", "/api/test/*"]
}
