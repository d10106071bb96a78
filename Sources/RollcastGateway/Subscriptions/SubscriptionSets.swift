import Synchronization

/// The distinct selections connected clients hold, each counted, and their bound.
///
/// Each distinct selection costs one composed message per snapshot (its charts' bytes copied
/// once, shared by every client that holds it), so their number is what bounds that cost, not
/// the number of clients: past `--max-subscription-sets` a client asking for a selection no one
/// holds is refused (503 before the upgrade, with a reason), while one asking for a held
/// selection, or for every symbol, is taken as always.
final class SubscriptionSets: Sendable {
    let limit: Int
    private let held = Mutex<[ChartFilter: Int]>([:])

    init(limit: Int) {
        self.limit = limit
    }

    /// The distinct selections held now.
    var count: Int { held.withLock { $0.count } }

    /// Whether a client may take `selection` now (a held one always may).
    func admits(_ selection: ChartFilter) -> Bool {
        held.withLock { $0[selection] != nil || $0.count < limit }
    }

    /// Counts a client in for `selection`; `false` when it would be one distinct selection past the limit.
    func add(_ selection: ChartFilter) -> Bool {
        held.withLock { held in
            if let clients = held[selection] {
                held[selection] = clients + 1
                return true
            }
            guard held.count < limit else { return false }
            held[selection] = 1
            return true
        }
    }

    /// Counts a client out; a selection no client holds is forgotten.
    func remove(_ selection: ChartFilter) {
        held.withLock { held in
            guard let clients = held[selection] else { return }
            held[selection] = clients > 1 ? clients - 1 : nil
        }
    }
}
