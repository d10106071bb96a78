import NIOCore
import Synchronization

/// A connected client as shutdown sees it: told the gateway is going away, on its event loop.
protocol ShutdownClosable: AnyObject {
    /// Ends the connection the way its protocol says a server leaves (a WebSocket's 1001, the
    /// end of an event stream). - Important: call on the client's event loop.
    func closeForShutdown()
}

/// The connected clients, WebSocket and SSE, so that shutdown can close each the way its
/// protocol says.
///
/// Snapshots do not go through here (see ``SnapshotBroadcaster``); this only exists so that a
/// connection needs no task of its own to wait for the shutdown.
final class ClientRegistry: Sendable {
    private let clients = Mutex<[UInt64: NIOLoopBound<any ShutdownClosable>]>([:])
    private let closingAll = Atomic<Bool>(false)

    /// Set once shutdown has closed every client: a connection that ends now ended for it.
    var isClosingAll: Bool { closingAll.load(ordering: .relaxed) }

    func add(_ client: NIOLoopBound<any ShutdownClosable>, id: UInt64) {
        clients.withLock { $0[id] = client }
    }

    func remove(id: UInt64) {
        _ = clients.withLock { $0.removeValue(forKey: id) }
    }

    /// Closes every client on its event loop; returns once every close is under way.
    func closeAll() {
        closingAll.store(true, ordering: .relaxed)
        let all = clients.withLock { Array($0.values) }
        for client in all {
            client.eventLoop.execute { client.value.closeForShutdown() }
        }
    }
}
