import Foundation
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
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

    /// Runs until SIGINT or SIGTERM.
    public func run() async throws {
        try await buildApplication().runService(gracefulShutdownSignals: [.sigterm, .sigint])
        logger.info("gateway stopped")
    }

    /// The HTTP/WebSocket application with the snapshot subscription as a service beside it.
    public func buildApplication() throws -> some ApplicationProtocol {
        let broadcaster = SnapshotBroadcaster()
        let subscriber = SnapshotSubscriber(endpoint: configuration.snapshotEndpoint, broadcaster: broadcaster, logger: logger)
        let control = try ControlClient(endpoint: configuration.controlEndpoint)

        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: ErrorMiddleware(routes: APIRoutes.table))
        router.add(middleware: FileMiddleware(configuration.webRoot, searchForIndexHtml: true, logger: logger))
        APIRoutes(broadcaster: broadcaster, control: control, configuration: configuration).register(on: router)

        let socket = RealtimeChartsSocket(broadcaster: broadcaster, logger: logger)
        let webSocketRouter = Router(context: BasicWebSocketRequestContext.self)
        webSocketRouter.ws("/ws/realtime_charts") { inbound, outbound, _ in
            try await socket.handle(inbound: inbound, outbound: outbound)
        }

        let configuration = self.configuration
        let logger = self.logger
        return Application(
            router: router,
            server: .http1WebSocketUpgrade(
                webSocketRouter: webSocketRouter,
                configuration: .init(
                    ws: .init(
                        // Clients send nothing of use; a small limit keeps floods cheap.
                        maxFrameSize: 4096,
                        autoPing: .enabled(timePeriod: .seconds(25)),
                        closeTimeout: .seconds(1)
                    )
                )
            ),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "rollcast-gateway"),
            services: [subscriber],
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
