import Logging
import RollcastCore
import ServiceLifecycle

/// Asks the producer for a snapshot right after the gateway starts.
///
/// A subscriber that connects after a snapshot went out misses it (ZeroMQ's slow joiner),
/// and would otherwise wait a whole interval before it has anything to serve. This asks
/// over the control socket until the first snapshot has arrived, for a few seconds at most;
/// a producer that is not up yet publishes its own first snapshot when it starts.
struct FirstSnapshotRequest: Service {
    let control: ControlClient
    let broadcaster: SnapshotBroadcaster
    let logger: Logger
    var attempts = 20
    var spacing: Duration = .milliseconds(250)

    func run() async throws {
        for _ in 0..<attempts {
            guard broadcaster.latest == nil, !Task.isCancelled, !Task.isShuttingDownGracefully else { return }
            _ = try? await control.send(.publish, timeout: spacing)
            try? await Task.sleep(for: spacing)
        }
        if broadcaster.latest == nil {
            logger.info("no snapshot yet; waiting for the producer", metadata: ["endpoint": "\(control.endpoint)"])
        }
    }
}
