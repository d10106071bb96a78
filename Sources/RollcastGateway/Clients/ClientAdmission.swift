import Logging
import NIOCore
import Synchronization

/// Takes a client's place under the gateway's bounds (`--max-clients`, WebSocket and SSE
/// together, and `--max-subscription-sets`), and gives it back, counted, when its connection ends.
///
/// The gate before checked both bounds on the request; clients racing each other to the last
/// place are settled here, where the place is actually taken.
struct ClientAdmission: Sendable {
    let broadcaster: SnapshotBroadcaster
    let maxClients: Int
    let subscriptions: SubscriptionSets
    let registry: ClientRegistry
    let metrics: GatewayMetrics
    let logger: Logger

    /// Takes a place for a client watching `selection` on `channel`, given back when the
    /// channel closes.
    /// - Returns: the place, or the reason there is none (the client is told to try again later).
    /// - Important: call on the channel's event loop.
    func admit(_ channel: any Channel, id: UInt64, selection: ChartFilter?, deltaStream: Bool, eventStream: Bool) -> Result<ClientPlace, Refusal> {
        guard metrics.connected.increment(below: maxClients) else {
            metrics.refused.increment()
            logger.warning("client refused", metadata: ["max_clients": "\(maxClients)"])
            return .failure(Refusal(reason: "the gateway has its maximum of \(maxClients) clients; try again later"))
        }
        if let selection, !subscriptions.add(selection) {
            metrics.connected.decrement()
            metrics.refused.increment()
            return .failure(Refusal(reason: "the gateway holds its maximum of \(subscriptions.limit) distinct symbol selections; try again later"))
        }
        if deltaStream { metrics.deltaClients.increment() }
        if eventStream { metrics.eventStreamClients.increment() }
        let broadcaster = broadcaster
        let whole = deltaStream && selection == nil
        if whole { broadcaster.wholeDeltaClients.add(1, ordering: .relaxed) }
        // A delta client of every symbol that chooses some is one no longer.
        let place = ClientPlace(selection: selection) { broadcaster.wholeDeltaClients.subtract(1, ordering: .relaxed) }
        let (metrics, registry, subscriptions) = (metrics, registry, subscriptions)
        channel.closeFuture.assumeIsolated().whenComplete { _ in
            if whole, place.selection == nil { broadcaster.wholeDeltaClients.subtract(1, ordering: .relaxed) }
            if let selection = place.selection { subscriptions.remove(selection) }
            registry.remove(id: id)
            metrics.connected.decrement()
            if deltaStream { metrics.deltaClients.decrement() }
            if eventStream { metrics.eventStreamClients.decrement() }
            metrics.closed(place.closedBy ?? (registry.isClosingAll ? .shutdown : .client))
        }
        return .success(place)
    }

    struct Refusal: Error {
        let reason: String
    }
}

/// One admitted client's place: the selection it holds, and why the gateway ended it.
/// - Important: use on the client's event loop only.
final class ClientPlace {
    /// The selection held now: a delta WebSocket client may change it while connected.
    var selection: ChartFilter? {
        didSet { if oldValue == nil, selection != nil { onFirstSelection() } }
    }
    /// Why the gateway ended the connection; `nil` while it has not (the client left).
    private(set) var closedBy: ClientCloseReason?
    private let onFirstSelection: () -> Void

    /// - Parameter onFirstSelection: called when a client of every symbol chooses some.
    init(selection: ChartFilter?, onFirstSelection: @escaping () -> Void = {}) {
        self.selection = selection
        self.onFirstSelection = onFirstSelection
    }

    /// Notes why the connection ends; the first reason given is the one counted.
    func end(because reason: ClientCloseReason) {
        closedBy = closedBy ?? reason
    }
}
