import NIOCore
import Synchronization

/// A connected client as the broadcaster sees it (a WebSocket's ``SnapshotWriter``, an SSE
/// client's ``EventStreamWriter``): offered every snapshot on its own event loop.
protocol SnapshotReceiver: AnyObject {
    /// Sends `snapshot` now if the socket can take it, else keeps it as the one pending.
    /// - Returns: the payload bytes written now; 0 when held, dropped or already held by the client.
    /// - Important: call on the client's event loop.
    func offer(_ snapshot: RelayedSnapshot) -> Int
}

/// Holds the latest snapshot and hands every new one to every connected client.
///
/// Clients are grouped by event loop: a snapshot costs one hop per event loop, where each
/// client's ``SnapshotReceiver`` writes the shared buffer. A writer whose socket is full keeps
/// only the newest snapshot, so one stuck browser can neither delay the others nor grow the
/// gateway's memory. In-process waiters (such as `load_mock_data`) use ``subscribe()``.
final class SnapshotBroadcaster: Sendable {
    private struct Loop {
        let eventLoop: any EventLoop
        var writers: [UInt64: NIOLoopBound<any SnapshotReceiver>] = [:]
    }

    private struct State {
        var latest: RelayedSnapshot?
        var loops: [ObjectIdentifier: Loop] = [:]
        var loopOfWriter: [UInt64: ObjectIdentifier] = [:]
        var watchers: [UInt64: AsyncStream<RelayedSnapshot>.Continuation] = [:]
        var nextID: UInt64 = 0
        var finished = false
    }

    private let state = Mutex(State())
    let metrics: GatewayMetrics
    /// Delta-stream clients of every symbol (no selection): while there are some, the subscriber
    /// makes the delta stream's frames as a snapshot arrives, so that no event loop waits for them.
    let wholeDeltaClients = Atomic<Int>(0)

    init(metrics: GatewayMetrics) {
        self.metrics = metrics
    }

    struct Subscription: Sendable {
        let id: UInt64
        let snapshots: AsyncStream<RelayedSnapshot>
    }

    /// The newest snapshot received, if any.
    var latest: RelayedSnapshot? { state.withLock { $0.latest } }

    /// Set once the gateway has begun to shut down (``finishAll()``): it takes no new clients.
    var isFinished: Bool { state.withLock { $0.finished } }

    /// Counts a snapshot a slow client missed.
    func countSkipped() { metrics.snapshotsSkipped.increment() }

    /// Counts frames handed to sockets and their bytes, once per batch of writes; with
    /// `generatedAtMilliseconds`, records the relay latency of the batch's last write.
    func countRelayed(frames: Int, bytes: Int, generatedAtMilliseconds: Int64?) {
        guard frames > 0 else { return }
        metrics.snapshotsRelayed.increment(by: frames)
        metrics.bytesSent.increment(by: bytes)
        if let generatedAtMilliseconds {
            metrics.relayLatency.record(GatewayMetrics.secondsSince(generatedAtMilliseconds: generatedAtMilliseconds))
        }
    }

    /// A fresh id for a client or a watcher.
    func makeID() -> UInt64 {
        state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
    }

    /// Stores `snapshot` as the latest and offers it to every client and watcher.
    ///
    /// Each event loop adds up what its writers sent and records it once, so the metrics cost
    /// a few atomic adds per loop per snapshot, not per client.
    func publish(_ snapshot: RelayedSnapshot) {
        metrics.snapshotsReceived.increment()
        let loops = state.withLock { state in
            state.latest = snapshot
            for continuation in state.watchers.values { continuation.yield(snapshot) }
            return Array(state.loops.values)
        }
        for loop in loops {
            let writers = loop.writers.values
            loop.eventLoop.execute {
                var frames = 0
                var bytes = 0
                for writer in writers {
                    let sent = writer.value.offer(snapshot)
                    if sent > 0 {
                        frames += 1
                        bytes += sent
                    }
                }
                self.countRelayed(frames: frames, bytes: bytes, generatedAtMilliseconds: snapshot.header.generatedAt)
            }
        }
    }

    // MARK: Clients

    /// Adds a client's writer and offers it the latest snapshot. Call on `eventLoop`.
    func register(_ writer: NIOLoopBound<any SnapshotReceiver>, id: UInt64, on eventLoop: any EventLoop) {
        let latest = state.withLock { state -> RelayedSnapshot? in
            let key = ObjectIdentifier(eventLoop)
            state.loops[key, default: Loop(eventLoop: eventLoop)].writers[id] = writer
            state.loopOfWriter[id] = key
            return state.latest
        }
        if let latest {
            let sent = writer.value.offer(latest)
            // A newcomer's copy of the latest snapshot is not a relay: no latency recorded.
            countRelayed(frames: sent > 0 ? 1 : 0, bytes: sent, generatedAtMilliseconds: nil)
        }
    }

    func unregister(id: UInt64) {
        state.withLock { state in
            guard let key = state.loopOfWriter.removeValue(forKey: id) else { return }
            state.loops[key]?.writers.removeValue(forKey: id)
        }
    }

    // MARK: Watchers

    /// A stream that starts with the latest snapshot (if any) and then yields each new one.
    /// - Important: call ``unsubscribe(_:)`` with the id when done (in a `defer`).
    func subscribe() -> Subscription {
        let (stream, continuation) = AsyncStream.makeStream(of: RelayedSnapshot.self, bufferingPolicy: .bufferingNewest(1))
        let id = makeID()
        state.withLock { state in
            if state.finished {
                continuation.finish()
                return
            }
            if let latest = state.latest { continuation.yield(latest) }
            state.watchers[id] = continuation
        }
        return Subscription(id: id, snapshots: stream)
    }

    func unsubscribe(_ id: UInt64) {
        let continuation = state.withLock { $0.watchers.removeValue(forKey: id) }
        continuation?.finish()
    }

    /// Waits until a snapshot of producer run `runID` with `seq` at least `seq` has arrived.
    /// - Returns: `false` if none arrived within `timeout`.
    func waitForSnapshot(runID: String, seq: UInt64, timeout: Duration) async -> Bool {
        await waitForSnapshot(holding: [(runID, seq)], timeout: timeout) != nil
    }

    /// Waits for a snapshot holding every producer run in `runs` at its `seq` or later.
    /// - Returns: that snapshot, or `nil` if none arrived within `timeout`.
    func waitForSnapshot(holding runs: [(runID: String, seq: UInt64)], timeout: Duration) async -> RelayedSnapshot? {
        let subscription = subscribe()
        defer { unsubscribe(subscription.id) }
        return await withTaskGroup(of: RelayedSnapshot?.self) { group in
            group.addTask {
                for await snapshot in subscription.snapshots where runs.allSatisfy({ snapshot.holds(runID: $0.runID, seq: $0.seq) }) {
                    return snapshot
                }
                return nil
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let result = await group.next() ?? nil
            group.cancelAll()
            return result
        }
    }

    // MARK: Shutdown

    /// Ends the broadcast for watchers (at shutdown); clients are closed by ``ClientShutdown``.
    func finishAll() {
        let watchers = state.withLock { state in
            state.finished = true
            defer { state.watchers.removeAll() }
            return Array(state.watchers.values)
        }
        for watcher in watchers { watcher.finish() }
    }
}
