import Hummingbird

/// Counts every HTTP answer by route and status. The route label is a known route, `static`
/// for the dashboard's files, or `other`, so a scanner's made-up paths cannot grow the label set.
struct RequestMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: GatewayMetrics
    /// The API's routes (the other labels are `static` and `other`).
    let routes: [String: [HTTPRequest.Method]]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let response = try await next(request, context)
        metrics.countRequest(route: route(of: request.uri.path, status: response.status), status: response.status.code)
        return response
    }

    private func route(of path: String, status: HTTPResponse.Status) -> String {
        if routes[path] != nil { return path }
        if path == "/" || (status.code < 400 && !path.hasPrefix("/api/")) { return "static" }
        return "other"
    }
}
