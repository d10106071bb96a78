import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import RollcastCore

/// The HTTP/1 + WebSocket child channel with an ``UpgradeGateHandler`` in its pipeline (which
/// also hands event streams over), and the ``UnsentBytesLimit`` on its socket.
struct GatedWebSocketChannel: ServerChildChannel {
    typealias Value = WebSocketUpgradeChannel.Value

    let inner: WebSocketUpgradeChannel
    let path: String
    let headDeadline: TimeAmount
    let continueLimit: Int
    /// The `Host` of HTTP/1.0 requests that name none.
    let defaultHost: String
    let decide: @Sendable (HTTPRequestHead) -> UpgradeGateHandler.Refusal?
    let authorize: (@Sendable (HTTPRequestHead) async -> UpgradeGateHandler.Refusal?)?
    /// Where Server-Sent Events are served, checked and started.
    let eventStream: UpgradeGateHandler.EventStreamEntry?
    /// Open connections now, and the most allowed: past it a new one is closed before a byte
    /// is read, so idle or half-sent requests cannot use up the process's file descriptors.
    let connections: ReadableGauge
    let maxConnections: Int
    let onConnectionRefused: @Sendable () -> Void

    struct TooManyConnections: Error {}

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        guard connections.increment(below: maxConnections) else {
            onConnectionRefused()
            channel.close(promise: nil)
            return channel.eventLoop.makeFailedFuture(TooManyConnections())
        }
        channel.closeFuture.whenComplete { _ in connections.decrement() }
        UnsentBytesLimit.apply(to: channel, logger: logger)
        return inner.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let upgrader = try channel.pipeline.syncOperations.handler(
                type: NIOTypedHTTPServerUpgradeHandler<WebSocketUpgradeChannel.UpgradeResult>.self
            )
            try channel.pipeline.syncOperations.addHandler(
                UpgradeGateHandler(
                    path: path, headDeadline: headDeadline, continueLimit: continueLimit, defaultHost: defaultHost, decide: decide, authorize: authorize,
                    eventStream: eventStream
                ),
                position: .before(upgrader)
            )
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await inner.handle(value: value, logger: logger)
    }
}
