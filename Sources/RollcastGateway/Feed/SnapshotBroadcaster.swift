import Synchronization

/// Holds the latest snapshot and hands every new one to every subscribed client.
///
/// Each subscriber's stream keeps only the newest undelivered snapshot: a client that
/// reads slowly skips snapshots instead of queueing them, so one stuck browser can
/// neither delay the others nor grow the gateway's memory. Skips are counted.
final class SnapshotBroadcaster: Sendable {
    private struct Subscriber {
        let continuation: AsyncStream<RelayedSnapshot>.Continuation
        /// Snapshots replaced before this subscriber took them.
        var skipped: Int = 0
    }

    private struct State {
        var latest: RelayedSnapshot?
        var subscribers: [UInt64: Subscriber] = [:]
        var nextID: UInt64 = 0
        var finished = false
        var skippedTotal = 0
    }

    private let state = Mutex(State())

    struct Subscription: Sendable {
        let id: UInt64
        let snapshots: AsyncStream<RelayedSnapshot>
    }

    /// The newest snapshot received, if any.
    var latest: RelayedSnapshot? { state.withLock { $0.latest } }

    /// Number of subscribed clients.
    var subscriberCount: Int { state.withLock { $0.subscribers.count } }

    /// Snapshots replaced in a subscriber's buffer before it took them, over all subscribers.
    var skippedTotal: Int { state.withLock { $0.skippedTotal } }

    /// Whether ``finishAll()`` has ended the broadcast (the gateway is shutting down).
    var isFinished: Bool { state.withLock { $0.finished } }

    /// Stores `snapshot` as the latest and offers it to every subscriber.
    func publish(_ snapshot: RelayedSnapshot) {
        state.withLock { state in
            state.latest = snapshot
            for (id, subscriber) in state.subscribers {
                if case .dropped = subscriber.continuation.yield(snapshot) {
                    state.subscribers[id]!.skipped += 1
                    state.skippedTotal += 1
                }
            }
        }
    }

    /// A stream that starts with the latest snapshot (if any) and then yields each new one.
    /// - Important: call ``unsubscribe(_:)`` with the id when done (in a `defer`).
    func subscribe() -> Subscription {
        let (stream, continuation) = AsyncStream.makeStream(of: RelayedSnapshot.self, bufferingPolicy: .bufferingNewest(1))
        let id = state.withLock { state in
            let id = state.nextID
            state.nextID += 1
            if state.finished {
                continuation.finish()
                return id
            }
            // The latest goes in under the same lock as registration: no snapshot is missed.
            if let latest = state.latest { continuation.yield(latest) }
            state.subscribers[id] = Subscriber(continuation: continuation)
            return id
        }
        return Subscription(id: id, snapshots: stream)
    }

    /// Ends a subscription.
    /// - Returns: how many snapshots it skipped.
    @discardableResult
    func unsubscribe(_ id: UInt64) -> Int {
        let subscriber = state.withLock { $0.subscribers.removeValue(forKey: id) }
        subscriber?.continuation.finish()
        return subscriber?.skipped ?? 0
    }

    /// Ends every subscriber's stream, now and for later subscribers (at shutdown).
    func finishAll() {
        let subscribers = state.withLock { state in
            state.finished = true
            defer { state.subscribers.removeAll() }
            return Array(state.subscribers.values)
        }
        for subscriber in subscribers { subscriber.continuation.finish() }
    }

    /// Waits until a snapshot of producer run `runID` with `seq` at least `seq` has arrived.
    /// - Returns: `false` if none arrived within `timeout`.
    func waitForSnapshot(runID: String, seq: UInt64, timeout: Duration) async -> Bool {
        let subscription = subscribe()
        defer { unsubscribe(subscription.id) }
        return await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                for await snapshot in subscription.snapshots {
                    if snapshot.header.runID == runID, snapshot.header.seq >= seq { return true }
                }
                return false
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return false
            }
            let result = await group.next() ?? false
            group.cancelAll()
            return result
        }
    }
}
