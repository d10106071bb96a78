import Logging
import ServiceLifecycle

/// At shutdown, closes every WebSocket client with 1001 (going away), and ends every event
/// stream, before the server stops.
///
/// It runs last in the gateway's service group, so it is the first to hear of a graceful
/// shutdown: it sends every client its close frame and waits for the connections to end;
/// only then does the HTTP server stop. Without it the server's own shutdown would close
/// clients with 1000, which tells a dashboard nothing about coming back.
struct ClientShutdown: Service {
    let broadcaster: SnapshotBroadcaster
    let registry: ClientRegistry
    let metrics: GatewayMetrics
    let logger: Logger
    /// How long to wait for clients to finish their close handshakes.
    var drainLimit: Duration = .seconds(1)

    func run() async throws {
        try? await gracefulShutdown()
        let clients = metrics.connected.value
        broadcaster.finishAll()
        logger.info("closing clients", metadata: ["clients": "\(clients)"])
        registry.closeAll()
        let deadline = ContinuousClock.now.advanced(by: drainLimit)
        while metrics.connected.value > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
    }
}
