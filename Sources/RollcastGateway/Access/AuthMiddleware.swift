import Hummingbird

/// Asks HTTP requests for a token where the route needs one (``RouteTable/role(at:)``),
/// taken from `Authorization: Bearer`. Without a ``TokenAuthority`` (no `--jwt-secret-file`) every
/// request passes. WebSocket upgrades are checked before this, by ``UpgradeGateHandler``.
struct AuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let authority: TokenAuthority?
    let routes: RouteTable

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let authority, let needed = routes.role(at: request.uri.path) else {
            return try await next(request, context)
        }
        let token = BearerToken.fromAuthorization(request.headers[.authorization])
        if let refusal = await authority.refusal(of: token, needing: needed) {
            throw APIError(refusal)
        }
        if routes.route(at: request.uri.path)?.namesEverySymbol == true, TokenAuthority.symbols(ofAdmitted: token) != nil {
            throw APIError(.forbidden, "\(request.uri.path) names every symbol; a token limited to some (--symbols) may not read it")
        }
        return try await next(request, context)
    }
}

extension APIError {
    init(_ refusal: AccessRefusal) {
        var headers: HTTPFields = [:]
        if let challenge = refusal.challenge { headers[.wwwAuthenticate] = challenge }
        self.init(HTTPResponse.Status(code: refusal.status), refusal.reason, headers: headers)
    }
}
