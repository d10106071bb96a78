import Hummingbird

/// Every HTTP route of the gateway. Adding a route is one entry here and its handler.
enum GatewayRoutes {
    static let realtimeCharts = Route.webSocket("/ws/realtime_charts", role: .read)
    static let realtimeChartsEvents = Route.eventStream("/sse/realtime_charts", role: .read)

    static let all: [Route] = [
        .post("/api/ingest", role: .write) { api, request in try await api.ingest.answer(request) },
        .get("/api/realtime_window", role: .read) { api, request in try api.realtimeWindow.answer(request) },
        .get("/api/access", role: .read) { api, request in api.access.answer(request) },
        .get("/api/status", role: .read, namesEverySymbol: true) { api, _ in await api.status.answer() },
        // /metrics and the WebSocket's 426 carry the pages' CSP, as every path outside /api/ has.
        .get("/metrics", role: .read, contentSecurityPolicy: true, namesEverySymbol: true) { api, _ in await api.metrics.answer() },
        // For load balancers and supervisors: no token.
        .get("/healthz", role: nil) { _, _ in JSONBody.response(["status": "ok"]) },
        .get("/readyz", role: nil) { api, _ in api.readiness.answer() },
        realtimeCharts,
        realtimeChartsEvents,
        .post("/api/test/load_mock_data", role: .write, isTestOnly: true) { api, request in try await api.mockData.answer(request) },
    ]
}
