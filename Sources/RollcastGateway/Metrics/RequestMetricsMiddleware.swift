import Hummingbird

/// Counts every HTTP answer by route and status (``RouteTable/metricLabel(of:status:)``).
struct RequestMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: GatewayMetrics
    let routes: RouteTable

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let response = try await next(request, context)
        metrics.countRequest(route: routes.metricLabel(of: request.uri.path, status: response.status), status: response.status.code)
        return response
    }
}
