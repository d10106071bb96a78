import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore

/// What the HTTP/WebSocket application serves from, made by ``Gateway/run()`` (or a test).
struct GatewayServices: Sendable {
    let broadcaster: SnapshotBroadcaster
    let control: any ProducerControl
    let registry: ClientRegistry
    let metrics: GatewayMetrics
    /// Checks tokens; `nil` without `--jwt-secret-file`.
    let authority: TokenAuthority?
}

/// The gateway's router: its middlewares, then every route of ``GatewayRoutes``.
func buildRouter(configuration: GatewayConfiguration, services: GatewayServices, logger: Logger) -> Router<BasicRequestContext> {
    let routes = RouteTable(enableTestAPI: configuration.enableTestAPI)
    let access = AccessPolicy(listenHost: configuration.host, serverNames: configuration.serverNames, allowedOrigins: configuration.allowedOrigins)
    let router = Router(context: BasicRequestContext.self)
    router.add(middleware: RequestMetricsMiddleware(metrics: services.metrics, routes: routes))
    // Outside the error answers, so that they carry its headers too.
    router.add(middleware: HardeningMiddleware(routes: routes))
    router.add(middleware: ErrorMiddleware(routes: routes))
    router.add(middleware: AccessMiddleware(policy: access))
    router.add(middleware: AuthMiddleware(authority: services.authority, routes: routes))
    router.add(middleware: WebRootMiddleware(webRoot: configuration.webRoot))
    router.add(middleware: FileMiddleware(configuration.webRoot, searchForIndexHtml: true, logger: logger))
    let api = GatewayAPI(
        configuration: configuration, broadcaster: services.broadcaster, control: services.control, metrics: services.metrics,
        tokensOn: services.authority != nil
    )
    routes.register(on: router, api: api)
    if configuration.enableTestAPI {
        logger.warning(
            "test API on: anyone who reaches the gateway can load mock data",
            metadata: ["routes": "\(routes.routes.filter(\.isTestOnly).map(\.path))"]
        )
    }
    return router
}

/// The HTTP/WebSocket application, relaying what the broadcaster receives.
/// - Parameter maxConnections: connections of both kinds held at once (``ConnectionBudget``).
func buildApplication(
    configuration: GatewayConfiguration, services: GatewayServices, maxConnections: Int, logger: Logger
) -> some ApplicationProtocol {
    let metrics = services.metrics
    let admission = ClientAdmission(
        broadcaster: services.broadcaster,
        maxClients: configuration.maxClients,
        subscriptions: SubscriptionSets(limit: configuration.maxSubscriptionSets),
        registry: services.registry,
        metrics: metrics,
        logger: logger
    )
    let stallLimit = TimeAmount(configuration.slowClientLimit)
    let limits = ConnectionGuard.Limits(pingInterval: .init(configuration.pingInterval), pongTimeout: .init(configuration.pongTimeout), stallLimit: stallLimit)
    let socket = RealtimeChartsSocket(broadcaster: services.broadcaster, admission: admission, limits: limits, pingSweeps: ClientSweeps(interval: limits.pingInterval, deadline: limits.pongTimeout), logger: logger)
    let eventStream = EventStreamSocket(
        broadcaster: services.broadcaster, admission: admission, stallLimit: stallLimit,
        keepAlives: EventStreamWriter.keepAliveSweeps(), logger: logger
    )
    let upgrades = UpgradePolicy(
        route: GatewayRoutes.realtimeCharts,
        access: AccessPolicy(listenHost: configuration.host, serverNames: configuration.serverNames, allowedOrigins: configuration.allowedOrigins),
        authority: services.authority,
        socket: socket,
        eventStream: eventStream,
        metrics: metrics,
        maxClients: configuration.maxClients,
        permessageDeflate: configuration.permessageDeflate,
        subscriptions: admission.subscriptions,
        logger: logger
    )
    let idleTimeout = TimeAmount.nanoseconds(Int64(configuration.idleTimeout.milliseconds) * 1_000_000)
    return Application(
        router: buildRouter(configuration: configuration, services: services, logger: logger),
        server: HTTPServerBuilder { responder in
            GatedWebSocketChannel(
                inner: WebSocketUpgradeChannel(
                    responder: responder,
                    // Between requests, and before a request's head is complete: a connection
                    // idle this long is closed (idle keep-alive, slowloris).
                    http1: .init(idleTimeout: .init(configuration.idleTimeout)),
                    // Clients send nothing of use; a small frame limit keeps floods cheap.
                    maxFrameSize: RealtimeChartsSocket.maxClientMessageBytes,
                    shouldUpgrade: { head, _ in upgrades.upgrade(head) }
                ),
                path: upgrades.route.path,
                headDeadline: idleTimeout,
                continueLimit: max(configuration.maxBodyBytes, configuration.maxIngestBytes),
                // The name it answers for first: a request that names none is one for it.
                defaultHost: configuration.serverNames.first ?? (configuration.host.contains(":") ? "[\(configuration.host)]" : configuration.host),
                decide: { head in upgrades.refusal(of: head) },
                authorize: upgrades.authorization,
                eventStream: .init(
                    path: GatewayRoutes.realtimeChartsEvents.path,
                    decide: { head in upgrades.eventStreamRefusal(of: head) },
                    authorize: upgrades.eventStreamAuthorization,
                    start: { head, channel in upgrades.startEventStream(head, on: channel) }
                ),
                connections: metrics.connections,
                maxConnections: maxConnections,
                onConnectionRefused: {
                    metrics.connectionsRefused.increment()
                    logger.debug("connection refused", metadata: ["open": "\(metrics.connections.value)"])
                }
            )
        },
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "rollcast-gateway"),
        onServerRunning: { channel in
            let port = channel.localAddress?.port ?? configuration.port
            logger.info("gateway listening", metadata: ["url": "http://\(configuration.host):\(port)", "port": "\(port)"])
            if let portFile = configuration.portFile {
                do {
                    try "\(port)\n".write(toFile: portFile, atomically: true, encoding: .utf8)
                } catch {
                    logger.error("port file could not be written", metadata: ["path": "\(portFile)", "error": "\(error)"])
                }
            }
        },
        logger: logger
    )
}
