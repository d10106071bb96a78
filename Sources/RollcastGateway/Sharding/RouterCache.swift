import Synchronization

/// The router of the latest message, made when a write first needs it after that message
/// arrived: its symbol table costs a pass over every producer's symbols (up to 64 × 1,000),
/// which a write should not pay each time. Liveness is as of that moment.
final class RouterCache: Sendable {
    private let latest = Mutex<(key: String, router: ProducerRouter)?>(nil)

    func router(for snapshot: RelayedSnapshot?, make: ([ProducerSource]) -> ProducerRouter) -> ProducerRouter {
        let key = snapshot.map { "\($0.header.runID)/\($0.header.seq)" } ?? ""
        if let cached = latest.withLock({ $0 }), cached.key == key { return cached.router }
        let router = make(snapshot?.sources ?? [])
        latest.withLock { $0 = (key, router) }
        return router
    }
}
