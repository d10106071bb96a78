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
            let routes = RouteTable(enableTestAPI: configuration.enableTestAPI)
            logger.info("tokens required", metadata: ["read": "\(routes.paths(needing: .read))", "write": "\(routes.paths(needing: .write))"])
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
                        service: buildApplication(
                            configuration: configuration,
                            services: GatewayServices(broadcaster: broadcaster, control: control, registry: registry, metrics: metrics, authority: authority),
                            maxConnections: budget.maxConnections,
                            logger: logger
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
}
