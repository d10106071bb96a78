import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import RollcastCore
import ServiceLifecycle

/// The gateway process: snapshots from the producer → every WebSocket client; the HTTP API.
public struct Gateway: Sendable {
    public let configuration: GatewayConfiguration
    public let logger: Logger

    public init(configuration: GatewayConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Runs until SIGINT or SIGTERM, then closes every client with 1001 and stops.
    public func run() async throws {
        let metrics = GatewayMetrics()
        let broadcaster = SnapshotBroadcaster(metrics: metrics)
        let registry = ClientRegistry()
        let budget = try ConnectionBudget(
            maxClients: configuration.maxClients, maxHTTPConnections: configuration.maxHTTPConnections, fileLimit: FileLimit.raiseToHardLimit()
        )
        if let fileLimit = budget.cutByFileLimit {
            logger.warning(
                "the open-file limit holds fewer connections than --max-clients and --max-http-connections allow; past it new connections are closed at once",
                metadata: [
                    "file_limit": "\(fileLimit)", "max_connections": "\(budget.maxConnections)",
                    "max_clients": "\(configuration.maxClients)", "max_http_connections": "\(configuration.maxHTTPConnections)",
                ]
            )
        }
        let control = try ControlClient(endpoint: configuration.controlEndpoint, curve: configuration.curve, logger: logger)
        var authority: TokenAuthority?
        if let key = configuration.jwtKey {
            authority = await TokenAuthority(key: key)
            logger.info("tokens required", metadata: ["read": "\(AccessRole.readRoutes)", "write": "\(AccessRole.writeRoutes)"])
        } else {
            logger.notice("no --jwt-secret-file: every route is open to whoever reaches \(configuration.host):\(configuration.port)")
        }
        // Graceful shutdown runs in reverse order: clients are told first, the
        // subscription and the control socket to the producer end last.
        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: control),
                    .init(
                        service: SnapshotSubscriber(
                            endpoints: configuration.snapshotEndpoints,
                            curve: configuration.snapshotCurve,
                            forgetProducerAfter: configuration.forgetProducerAfter,
                            broadcaster: broadcaster,
                            compress: configuration.permessageDeflate,
                            logger: logger
                        )
                    ),
                    // Done after the first snapshot; the other services carry on.
                    .init(service: FirstSnapshotRequest(control: control, broadcaster: broadcaster, logger: logger), successTerminationBehavior: .ignore),
                    .init(
                        service: try buildApplication(
                            broadcaster: broadcaster, control: control, registry: registry, metrics: metrics, authority: authority,
                            maxConnections: budget.maxConnections
                        )
                    ),
                    .init(service: ClientShutdown(broadcaster: broadcaster, registry: registry, metrics: metrics, logger: logger)),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        do {
            try await group.run()
        } catch let error as IOError where error.errnoCode == EADDRINUSE {
            throw AddressInUse(host: configuration.host, port: configuration.port)
        }
        logger.info("gateway stopped")
    }

    struct AddressInUse: Error, CustomStringConvertible {
        let host: String
        let port: Int
        var description: String { "\(host):\(port) is in use by another process; choose another with --port" }
    }

    /// The token check of a WebSocket upgrade: a `read` token, or 401/403 with a reason.
    static func upgradeAuthorization(
        _ authority: TokenAuthority, metrics: GatewayMetrics, refusals: RefusalLog
    ) -> @Sendable (HTTPRequestHead) async -> UpgradeGateHandler.Refusal? {
        { head in
            guard let refusal = await authority.refusal(of: BearerToken.fromHandshake(head), needing: .read) else { return nil }
            metrics.countRefusedUpgrade(status: refusal.status)
            refusals.note(refusal.reason, metadata: ["status": "\(refusal.status)"])
            var headers: [(String, String)] = []
            if let challenge = refusal.challenge { headers.append(("WWW-Authenticate", challenge)) }
            return UpgradeGateHandler.Refusal(status: HTTPResponseStatus(statusCode: refusal.status), reason: refusal.reason, headers: headers)
        }
    }

    /// The HTTP/WebSocket application, relaying what `broadcaster` receives.
    /// - Parameter maxConnections: connections of both kinds held at once (``ConnectionBudget``).
    func buildApplication(
        broadcaster: SnapshotBroadcaster, control: ControlClient, registry: ClientRegistry, metrics: GatewayMetrics, authority: TokenAuthority?,
        maxConnections: Int
    ) throws -> some ApplicationProtocol {
        let router = Router(context: BasicRequestContext.self)
        let routes = APIRoutes(broadcaster: broadcaster, control: control, metrics: metrics, configuration: configuration)
        let policy = AccessPolicy(listenHost: configuration.host, serverNames: configuration.serverNames, allowedOrigins: configuration.allowedOrigins)
        router.add(middleware: RequestMetricsMiddleware(metrics: metrics, routes: routes.table))
        router.add(middleware: ErrorMiddleware(routes: routes.table))
        router.add(middleware: HardeningMiddleware())
        router.add(middleware: AccessMiddleware(policy: policy))
        router.add(middleware: AuthMiddleware(authority: authority))
        router.add(middleware: WebRootMiddleware(webRoot: configuration.webRoot))
        router.add(middleware: FileMiddleware(configuration.webRoot, searchForIndexHtml: true, logger: logger))
        routes.register(on: router)
        if configuration.enableTestAPI {
            logger.warning("test API on: anyone who reaches the gateway can load mock data", metadata: ["routes": "\(APIRoutes.testRoutes.keys.sorted())"])
        }

        let socket = RealtimeChartsSocket(
            broadcaster: broadcaster,
            registry: registry,
            limits: ConnectionGuard.Limits(
                pingInterval: .init(configuration.pingInterval),
                pongTimeout: .init(configuration.pongTimeout),
                stallLimit: .init(configuration.slowClientLimit)
            ),
            maxClients: configuration.maxClients,
            metrics: metrics,
            logger: logger
        )

        let configuration = self.configuration
        let logger = self.logger
        // Refused upgrades are logged at most once a second (with how many were left out): a
        // flood of bad handshakes cannot flood the log. Each is counted in the metrics.
        let refusals = RefusalLog(logger: logger, message: "upgrade refused")
        let fullRefusals = RefusalLog(logger: logger, message: "client refused")
        return Application(
            router: router,
            server: HTTPServerBuilder { responder in
                GatedWebSocketChannel(
                    inner: WebSocketUpgradeChannel(
                        responder: responder,
                        // Between requests, and before a request's head is complete: a connection
                        // idle this long is closed (idle keep-alive, slowloris).
                        http1: .init(idleTimeout: .nanoseconds(Int64(configuration.idleTimeout.milliseconds) * 1_000_000)),
                        // Clients send nothing of use; a small frame limit keeps floods cheap.
                        maxFrameSize: RealtimeChartsSocket.maxClientMessageBytes,
                        shouldUpgrade: { head, _ in
                            guard head.uri.split(separator: "?").first == "/ws/realtime_charts" else { return nil }
                            let offeredExtensions = head.headers["sec-websocket-extensions"]
                            let deflate = configuration.permessageDeflate && DeflateNegotiation.accepts(offeredExtensions.isEmpty ? nil : offeredExtensions.joined(separator: ", "))
                            var headers = HTTPHeaders()
                            if deflate { headers.add(name: "Sec-WebSocket-Extensions", value: DeflateNegotiation.response) }
                            // A browser that offers subprotocols (one carrying its token) fails the
                            // connection unless the answer names one of them; never the token's.
                            let chosen = RealtimeChartsSocket.chooseSubprotocol(offered: head.headers["sec-websocket-protocol"])
                            if let chosen { headers.add(name: "Sec-WebSocket-Protocol", value: chosen) }
                            let deltaStream = chosen == RealtimeChartsSocket.deltaSubprotocol
                            // The gate before this admitted the token on this same head.
                            let tokenExpiry = authority == nil ? nil : TokenAuthority.expiry(ofAdmitted: BearerToken.fromHandshake(head))
                            return .init(headers: headers) { channel in
                                try socket.install(on: channel, deflate: deflate, deltaStream: deltaStream, tokenExpiry: tokenExpiry)
                            }
                        }
                    ),
                    path: "/ws/realtime_charts",
                    headDeadline: .nanoseconds(Int64(configuration.idleTimeout.milliseconds) * 1_000_000),
                    continueLimit: max(configuration.maxBodyBytes, configuration.maxIngestBytes),
                    // The name it answers for first: a request that names none is one for it.
                    defaultHost: configuration.serverNames.first ?? (configuration.host.contains(":") ? "[\(configuration.host)]" : configuration.host),
                    decide: { head in
                        let host = head.headers.first(name: "host")
                        if let refusal = policy.hostRefusal(host) ?? policy.originRefusal(head.headers.first(name: "origin"), host: host) {
                            metrics.countRefusedUpgrade(status: refusal.status)
                            refusals.note(refusal.reason, metadata: ["status": "\(refusal.status)"])
                            return .init(status: HTTPResponseStatus(statusCode: refusal.status), reason: refusal.reason)
                        }
                        guard metrics.connected.value < configuration.maxClients else {
                            metrics.refused.increment()
                            metrics.countRefusedUpgrade(status: 503)
                            fullRefusals.note("the gateway has its maximum of clients", metadata: ["max_clients": "\(configuration.maxClients)"])
                            return .init(
                                status: .serviceUnavailable, reason: "the gateway has its maximum of \(configuration.maxClients) clients; try again later",
                                headers: [("Retry-After", "5")]
                            )
                        }
                        return nil
                    },
                    authorize: authority.map { Self.upgradeAuthorization($0, metrics: metrics, refusals: refusals) },
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
}
