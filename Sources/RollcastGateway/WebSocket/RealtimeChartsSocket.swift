import Foundation
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOWebSocket
import Synchronization

/// `/ws/realtime_charts`: sends each client the latest snapshot at once, then every new one.
///
/// Snapshots go out through a ``SnapshotWriter`` on the connection's event loop; this task
/// only reads what the client sends (so pings and close frames work; a message over
/// ``maxClientMessageBytes`` closes with 1009). At shutdown ``ClientShutdown`` closes the
/// connection with 1001 through the ``ClientRegistry``.
struct RealtimeChartsSocket: Sendable {
    /// Clients have nothing to say here; anything longer is abuse.
    static let maxClientMessageBytes = 4096
    /// The subprotocol the gateway names in its answer when a client offers it: browsers that
    /// send a token as a `bearer.<token>` subprotocol need one to be chosen.
    static let subprotocol = "rollcast.v1"
    /// The subprotocol of the delta stream: a full message, then only what changed (docs/protocol.md).
    static let deltaSubprotocol = "rollcast.delta.v1"
    /// Close code 1013, "try again later", for clients past the connection cap.
    static let tryAgainLater = WebSocketErrorCode.unknown(1013)

    /// The subprotocol to answer for the `Sec-WebSocket-Protocol` values offered: the delta
    /// stream if asked for, else `rollcast.v1` if offered, else none (the full stream either way
    /// without the delta one; an unknown subprotocol alone gets the full stream and no answer).
    static func chooseSubprotocol(offered values: [String]) -> String? {
        let offered = Set(values.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) })
        if offered.contains(deltaSubprotocol) { return deltaSubprotocol }
        if offered.contains(subprotocol) { return subprotocol }
        return nil
    }

    let broadcaster: SnapshotBroadcaster
    let registry: ClientRegistry
    let limits: ConnectionGuard.Limits
    let maxClients: Int
    let metrics: GatewayMetrics
    let logger: Logger

    func handle(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, channel: (any Channel)?, deflate: Bool, deltaStream: Bool = false) async throws {
        // The HTTP layer turns a refused upgrade into an empty 400, which tells a browser
        // nothing; so a client past the cap is upgraded and at once closed with 1013.
        guard metrics.connected.increment(below: maxClients) else {
            metrics.refused.increment()
            logger.warning("client refused", metadata: ["max_clients": "\(maxClients)"])
            try await outbound.close(Self.tryAgainLater, reason: "the gateway has its maximum of \(maxClients) clients; try again later")
            return
        }
        defer { metrics.connected.decrement() }
        if deltaStream { metrics.deltaClients.increment() }
        defer { if deltaStream { metrics.deltaClients.decrement() } }
        guard let channel else { return }
        let id = broadcaster.makeID()
        var logger = logger
        logger[metadataKey: "client.id"] = "\(id)"
        registry.add(outbound, id: id)
        defer { registry.remove(id: id) }
        let closedBy = CloseReasonBox()
        defer { metrics.closed(closedBy.reason ?? (registry.isClosingAll ? .shutdown : .client)) }
        try await attachHandlers(to: channel, id: id, deflate: deflate, deltaStream: deltaStream, closedBy: closedBy, logger: logger)
        logger.info("client connected", metadata: ["permessage_deflate": "\(deflate)", "stream": "\(deltaStream ? "delta" : "full")"])
        // Ends when the connection closes; a too-long message throws, closing with 1009.
        do {
            for try await _ in inbound.messages(maxSize: Self.maxClientMessageBytes) {}
        } catch {
            closedBy.set(.messageTooLarge)
            throw error
        }
    }

    /// Puts the ``ConnectionGuard`` and the ``SnapshotWriter`` right after the frame decoder,
    /// where they see pongs and close frames and can write frames themselves.
    private func attachHandlers(
        to channel: any Channel, id: UInt64, deflate: Bool, deltaStream: Bool, closedBy: CloseReasonBox, logger: Logger
    ) async throws {
        let limits = limits
        let broadcaster = broadcaster
        try await channel.eventLoop.submit {
            let connectionGuard = ConnectionGuard(limits: limits) { closure in
                switch closure {
                case .tooSlow:
                    closedBy.set(.tooSlow)
                    logger.warning("slow client closed", metadata: ["unwritable_s": "\(limits.stallLimit.nanoseconds / 1_000_000_000)"])
                case .pingTimeout:
                    closedBy.set(.pingTimeout)
                    logger.warning("unresponsive client closed", metadata: ["pong_timeout_s": "\(limits.pongTimeout.nanoseconds / 1_000_000_000)"])
                case .protocolError(let reason):
                    closedBy.set(.protocolError)
                    logger.info("client closed for a protocol error", metadata: ["reason": "\(reason)"])
                case .tooManyFrames:
                    closedBy.set(.messageTooLarge)
                    logger.info("client closed for a message in too many frames")
                }
            }
            let decoder = try channel.pipeline.syncOperations.context(handlerType: ByteToMessageHandler<WebSocketFrameDecoder>.self)
            try channel.pipeline.syncOperations.addHandler(connectionGuard, position: .after(decoder.handler))
            try channel.pipeline.syncOperations.addHandler(
                SnapshotWriter(id: id, deflate: deflate, deltaStream: deltaStream, broadcaster: broadcaster, logger: logger),
                position: .after(connectionGuard)
            )
        }.get()
    }
}

/// Why one client's connection ended, when the gateway ended it; the first reason set wins.
final class CloseReasonBox: Sendable {
    private let value = Mutex<ClientCloseReason?>(nil)

    func set(_ reason: ClientCloseReason) {
        value.withLock { $0 = $0 ?? reason }
    }

    var reason: ClientCloseReason? { value.withLock { $0 } }
}
