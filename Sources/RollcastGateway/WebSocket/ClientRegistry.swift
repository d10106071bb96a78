import HummingbirdWebSocket
import NIOWebSocket
import Synchronization

/// The connected clients' writers, so that shutdown can close each with 1001.
///
/// Snapshots do not go through here (see ``SnapshotWriter``); this only exists so that a
/// connection needs no task of its own to wait for the shutdown.
final class ClientRegistry: Sendable {
    private let writers = Mutex<[UInt64: WebSocketOutboundWriter]>([:])
    private let closingAll = Atomic<Bool>(false)

    /// Set once shutdown has closed every client: a connection that ends now ended for it.
    var isClosingAll: Bool { closingAll.load(ordering: .relaxed) }

    func add(_ writer: WebSocketOutboundWriter, id: UInt64) {
        writers.withLock { $0[id] = writer }
    }

    func remove(id: UInt64) {
        _ = writers.withLock { $0.removeValue(forKey: id) }
    }

    /// Sends every client a close frame with `code` and `reason`, all at once.
    func closeAll(_ code: WebSocketErrorCode, reason: String) async {
        closingAll.store(true, ordering: .relaxed)
        let all = writers.withLock { Array($0.values) }
        await withTaskGroup(of: Void.self) { group in
            for writer in all {
                group.addTask { try? await writer.close(code, reason: reason) }
            }
        }
    }
}
