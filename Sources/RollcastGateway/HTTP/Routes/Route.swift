import Hummingbird

/// One HTTP route of the gateway, declared once: its path, methods, who may use it, whether its
/// answers carry the dashboard's Content-Security-Policy, and what answers it. The table of
/// routes (``RouteTable``) drives registration, 405s, the token check, the hardening headers
/// and the request metrics (whose `route` label is the path).
struct Route: Sendable {
    let path: String
    /// The methods it answers; a GET route answers HEAD too (the same status and headers, no body).
    let methods: [HTTPRequest.Method]
    /// The role a token needs (``AccessRole``); `nil` for what anyone may fetch.
    let role: AccessRole?
    /// Whether its answers carry the Content-Security-Policy meant for pages.
    let contentSecurityPolicy: Bool
    /// Served only with `--enable-test-api`; its path lies under ``RouteTable/testPrefix``.
    let isTestOnly: Bool
    /// Whether its answers name every symbol (status, metrics): refused to a token limited to some.
    var namesEverySymbol = false
    let answer: @Sendable (GatewayAPI, Request) async throws -> Response

    /// A read: GET, and HEAD with the same answer less its body.
    static func get(
        _ path: String, role: AccessRole?, contentSecurityPolicy: Bool = false, namesEverySymbol: Bool = false,
        answer: @escaping @Sendable (GatewayAPI, Request) async throws -> Response
    ) -> Route {
        var route = Route(path: path, methods: [.get, .head], role: role, contentSecurityPolicy: contentSecurityPolicy, isTestOnly: false, answer: answer)
        route.namesEverySymbol = namesEverySymbol
        return route
    }

    /// A write.
    static func post(
        _ path: String, role: AccessRole, isTestOnly: Bool = false, answer: @escaping @Sendable (GatewayAPI, Request) async throws -> Response
    ) -> Route {
        Route(path: path, methods: [.post], role: role, contentSecurityPolicy: false, isTestOnly: isTestOnly, answer: answer)
    }

    /// A WebSocket endpoint: the upgrade is taken before the router (``UpgradePolicy``); a plain
    /// GET that reaches the router is told to upgrade.
    static func webSocket(_ path: String, role: AccessRole) -> Route {
        Route(path: path, methods: [.get], role: role, contentSecurityPolicy: true, isTestOnly: false) { _, _ in
            throw APIError(.upgradeRequired, "this endpoint speaks WebSocket only", headers: [.upgrade: "websocket"])
        }
    }

    /// A Server-Sent Events endpoint: a connection's first request is taken before the router
    /// (``EventStreamSocket``); a later one on a kept-alive connection reaches the router and is
    /// sent back to the same URL with `Connection: close`, so that it comes first on a new one.
    static func eventStream(_ path: String, role: AccessRole) -> Route {
        Route(path: path, methods: [.get], role: role, contentSecurityPolicy: false, isTestOnly: false) { _, request in
            var location = request.uri.path
            if let query = request.uri.query { location += "?\(query)" }
            return Response(status: .temporaryRedirect, headers: [.connection: "close", .location: location, .cacheControl: "no-store"])
        }
    }
}
