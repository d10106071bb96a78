import HummingbirdWebSocket
import Logging
import NIOCore
import NIOWebSocket

/// `/ws/realtime_charts`: sends each client the latest snapshot at once, then every new one.
///
/// The endpoint only speaks to the client; what the client sends is read (so pings and
/// close frames work) and otherwise ignored. Every client gets the same payload buffer.
struct RealtimeChartsSocket: Sendable {
    let broadcaster: SnapshotBroadcaster
    let logger: Logger

    func handle(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async throws {
        let subscription = broadcaster.subscribe()
        defer { broadcaster.unsubscribe(subscription.id) }
        var logger = logger
        logger[metadataKey: "client.id"] = "\(subscription.id)"
        logger.info("client connected")
        defer { logger.info("client disconnected") }

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                // Ends when the client closes; data frames from the client carry no meaning here.
                for try await _ in inbound {}
            }
            group.addTask {
                for await snapshot in subscription.snapshots {
                    try await outbound.write(.custom(WebSocketFrame(fin: true, opcode: .text, data: snapshot.payload)))
                }
            }
            // Whichever side ends first ends the connection.
            try await group.next()
            group.cancelAll()
        }
    }
}
