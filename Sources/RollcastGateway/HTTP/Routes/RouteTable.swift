import Hummingbird

/// The routes a gateway serves (``GatewayRoutes``, less the test routes unless they are on),
/// and what each middleware asks of them.
struct RouteTable: Sendable {
    /// Where test routes live: every path under it needs a `write` token, served or not.
    static let testPrefix = "/api/test/"

    let routes: [Route]
    private let byPath: [String: Route]

    init(_ routes: [Route] = GatewayRoutes.all, enableTestAPI: Bool) {
        self.routes = routes.filter { enableTestAPI || !$0.isTestOnly }
        byPath = Dictionary(self.routes.map { ($0.path, $0) }) { first, _ in first }
        precondition(byPath.count == self.routes.count, "two routes share a path")
        precondition(routes.allSatisfy { !$0.isTestOnly || $0.path.hasPrefix(Self.testPrefix) }, "a test route outside \(Self.testPrefix)")
    }

    /// The route at `path`, if there is one.
    func route(at path: String) -> Route? { byPath[path] }

    /// The role a request for `path` needs, or `nil` for what anyone may fetch: the dashboard's
    /// files (they hold no data and are needed to present a token at all), `/healthz` and `/readyz`.
    func role(at path: String) -> AccessRole? {
        if path.hasPrefix(Self.testPrefix) { return .write }
        return byPath[path]?.role
    }

    /// The paths that need `role` exactly, for the start-up log.
    func paths(needing role: AccessRole) -> [String] {
        var paths = routes.filter { $0.role == role && !$0.isTestOnly }.map(\.path).sorted()
        if role == .write { paths.append(Self.testPrefix + "*") }
        return paths
    }

    /// Whether answers for `path` carry the pages' Content-Security-Policy: a route's own
    /// choice; every other path outside `/api/` is the dashboard's (or its 404).
    func appliesContentSecurityPolicy(to path: String) -> Bool {
        byPath[path]?.contentSecurityPolicy ?? !path.hasPrefix("/api/")
    }

    /// The `route` label of a request's metrics: a known route, `static` for the dashboard's
    /// files, or `other`, so a scanner's made-up paths cannot grow the label set.
    func metricLabel(of path: String, status: HTTPResponse.Status) -> String {
        if byPath[path] != nil { return path }
        if path == "/" || (status.code < 400 && !path.hasPrefix("/api/")) { return "static" }
        return "other"
    }

    /// Registers every route's answer, bound to `api`.
    func register(on router: Router<some RequestContext>, api: GatewayAPI) {
        for route in routes {
            let answer = route.answer
            for method in route.methods {
                if method == .head {
                    router.on(RouterPath(route.path), method: .head) { request, _ in
                        var response = try await answer(api, request)
                        response.body = .init()
                        return response
                    }
                } else {
                    router.on(RouterPath(route.path), method: method) { request, _ in try await answer(api, request) }
                }
            }
        }
    }
}
