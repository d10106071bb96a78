import NIOCore
import NIOWebSocket
import Synchronization

/// The connected clients, so that shutdown can close each with 1001.
///
/// Snapshots do not go through here (see ``SnapshotWriter``); this only exists so that a
/// connection needs no task of its own to wait for the shutdown.
final class ClientRegistry: Sendable {
    private let clients = Mutex<[UInt64: NIOLoopBound<ClientFrameHandler>]>([:])
    private let closingAll = Atomic<Bool>(false)

    /// Set once shutdown has closed every client: a connection that ends now ended for it.
    var isClosingAll: Bool { closingAll.load(ordering: .relaxed) }

    func add(_ client: NIOLoopBound<ClientFrameHandler>, id: UInt64) {
        clients.withLock { $0[id] = client }
    }

    func remove(id: UInt64) {
        _ = clients.withLock { $0.removeValue(forKey: id) }
    }

    /// Sends every client a close frame with `code` and `reason`, on each client's event loop;
    /// returns once every close is under way.
    func closeAll(_ code: WebSocketErrorCode, reason: String) {
        closingAll.store(true, ordering: .relaxed)
        let all = clients.withLock { Array($0.values) }
        for client in all {
            client.eventLoop.execute { client.value.close(code, reason: reason, because: .shutdown) }
        }
    }
}
