import Foundation
import Logging
import RollcastCore
import ServiceLifecycle
import Synchronization
import ZeroMQ

/// Sends control commands to producers over DEALER sockets, many at once, each with a deadline:
/// one socket for `--control-endpoint`, and one per producer control socket named in snapshot
/// headers (a gateway merging several producers sends each symbol's writes to its owner).
///
/// Every request carries an id in its envelope; the producer's ROUTER sends it back with the
/// reply, so replies may come in any order and a slow command (a large mock load) holds up
/// no other. The sockets live on a thread of their own (ZeroMQ sockets are not thread-safe):
/// ``send(_:to:timeout:)`` queues the request and wakes that thread, which sends it, matches the
/// reply and resumes the caller, or fails it when its deadline passes. A reply that comes
/// after its deadline is dropped.
final class ControlClient: Service, Sendable {
    let endpoint: String
    private let context: ZMQContext
    private let wakeup: PollWakeup
    private let state = Mutex(State())
    private let logger: Logger

    /// How long a request waits for a connection to the producer before it is called down.
    static let connectGrace: Duration = .milliseconds(250)
    /// Requests queued or waiting for a reply at once; past it a request fails at once.
    static let maxInFlight = 1_000
    /// Sockets to announced control endpoints besides `--control-endpoint`; the one used least
    /// recently is closed to make room.
    static let maxTargets = 64
    /// A socket to an announced endpoint unused this long is closed.
    static let idleTargetLimit: Duration = .seconds(600)

    enum Failure: Error, CustomStringConvertible {
        case unavailable(String)
        case timedOut
        case badReply
        case busy

        var description: String {
            switch self {
            case .unavailable(let reason): "producer is not reachable: \(reason)"
            case .timedOut: "producer did not answer in time"
            case .badReply: "producer sent a reply that could not be read"
            case .busy: "too many requests are waiting for the producer; try again"
            }
        }
    }

    private struct Pending {
        let target: ControlTarget
        let parts: [[UInt8]]
        /// Past this the caller gets ``Failure/timedOut``.
        let deadline: ContinuousClock.Instant
        /// Past this a request that could not be sent gets ``Failure/unavailable(_:)``.
        let sendBy: ContinuousClock.Instant
        let continuation: CheckedContinuation<ControlAnswer, any Error>
    }

    private struct State {
        var nextID: UInt64 = 1
        var unsent: [(id: UInt64, request: Pending)] = []
        var awaitingReply: [UInt64: Pending] = [:]
        var stopped = false

        var inFlight: Int { unsent.count + awaitingReply.count }
    }

    /// CURVE for a `tcp://` endpoint.
    private let curve: CurveClientSettings?

    init(endpoint: String, curve: CurveClientSettings? = nil, logger: Logger) throws {
        self.curve = curve
        self.endpoint = endpoint
        self.context = try ZMQContext()
        self.wakeup = try PollWakeup()
        self.logger = logger
    }

    /// The producer at `--control-endpoint`.
    var defaultTarget: ControlTarget { ControlTarget(endpoint: endpoint, curve: curve) }

    /// Sends `request` to `target` and waits for the reply until `timeout` has passed since the call.
    /// - Throws: ``Failure`` when the producer is down, slow, or answers nonsense.
    func send(_ request: ControlRequest, to target: ControlTarget, timeout: Duration) async throws -> ControlAnswer {
        let parts = try request.parts()
        let now = ContinuousClock.now
        let deadline = now.advanced(by: timeout)
        let sendBy = min(deadline, now.advanced(by: Self.connectGrace))
        let id = state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let refusal: (any Error)? = state.withLock { state in
                    if state.stopped { return Failure.unavailable("the gateway is shutting down") }
                    if Task.isCancelled { return CancellationError() }
                    guard state.inFlight < Self.maxInFlight else { return Failure.busy }
                    state.unsent.append((id, Pending(target: target, parts: parts, deadline: deadline, sendBy: sendBy, continuation: continuation)))
                    return nil
                }
                if let refusal {
                    continuation.resume(throwing: refusal)
                } else {
                    wakeup.signal()
                }
            }
        } onCancel: {
            // Whoever takes a request out of the state resumes it: here, or the socket's thread.
            let pending = state.withLock { state -> Pending? in
                if let index = state.unsent.firstIndex(where: { $0.id == id }) { return state.unsent.remove(at: index).request }
                return state.awaitingReply.removeValue(forKey: id)
            }
            pending?.continuation.resume(throwing: CancellationError())
        }
    }

    func run() async throws {
        try await ServiceThread.run(name: "rollcast-control-client", stop: context.shutdown) {
            try self.exchangeLoop()
        }
    }

    /// A DEALER socket to one producer's control endpoint.
    private final class Link {
        let socket: ZMQSocket
        var lastUsed: ContinuousClock.Instant

        init(context: ZMQContext, target: ControlTarget) throws {
            socket = try ZMQSocket(context: context, type: .dealer)
            lastUsed = .now
            // With ZMQ_IMMEDIATE a send fails at once while no producer is connected, so a
            // request is never queued for a producer that is not there.
            try socket.setImmediate(true)
            try socket.setMaxMessageSize(16 << 20)
            try CurveLink.secure(socket, endpoint: target.endpoint, curve: target.curve)
            try socket.connect(target.endpoint)
        }
    }

    private func exchangeLoop() throws {
        // First, so that no caller waits for ever, even when the socket cannot be made (a
        // context shut down before this thread started).
        defer { failAll(with: .unavailable("the gateway is shutting down")) }
        let home = defaultTarget
        var links: [ControlTarget: Link] = [home: try Link(context: context, target: home)]
        defer { for link in links.values { link.socket.close() } }
        let decoder = JSONDecoder()
        do {
            while true {
                let targets = Array(links.keys)
                let readable = try ZMQPoll.readable(
                    targets.map { .socket(links[$0]!.socket) } + [.fileDescriptor(wakeup.fileDescriptor)], timeoutMilliseconds: pollTimeoutMilliseconds()
                )
                if readable[targets.count] { wakeup.drain() }
                try sendQueued(links: &links, home: home)
                for (index, target) in targets.enumerated() where readable[index] {
                    guard let socket = links[target]?.socket else { continue }
                    while let received = try socket.receiveMultipart(dontWait: true, maxParts: 3) {
                        let parts = received.parts
                        // [request id, empty delimiter, reply]
                        guard received.total == 3, parts[0].count == 8, parts[1].count == 0 else {
                            logger.warning("control reply with an unknown shape dropped", metadata: ["parts": "\(received.total)"])
                            continue
                        }
                        let id = parts[0].withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
                        guard let pending = state.withLock({ $0.awaitingReply.removeValue(forKey: id) }) else { continue }  // came too late
                        let json = parts[2].bytes
                        if let reply = try? decoder.decode(ControlReply.self, from: Data(json)) {
                            pending.continuation.resume(returning: ControlAnswer(reply: reply, json: json))
                        } else {
                            pending.continuation.resume(throwing: Failure.badReply)
                        }
                    }
                }
                expire()
                closeIdle(&links, home: home)
            }
        } catch let error as ZMQError where error.isContextTerminated {
            return
        }
    }

    /// Sends what is queued; a request the producer cannot take yet waits until its grace ends.
    private func sendQueued(links: inout [ControlTarget: Link], home: ControlTarget) throws {
        let queued = state.withLock { state in
            defer { state.unsent.removeAll() }
            return state.unsent
        }
        var waiting: [(id: UInt64, request: Pending)] = []
        for item in queued {
            let link: Link
            do {
                link = try self.link(to: item.request.target, in: &links, home: home)
            } catch let error as ZMQError where error.isContextTerminated {
                throw error
            } catch {
                // A malformed announced endpoint: the request fails, the others go on.
                item.request.continuation.resume(throwing: Failure.unavailable("cannot connect to \(item.request.target.endpoint): \(error)"))
                continue
            }
            link.lastUsed = .now
            var id = item.id
            let envelope = withUnsafeBytes(of: &id) { Array($0) }
            // Move to "awaiting" first: the reply can be read before this loop ends.
            state.withLock { $0.awaitingReply[item.id] = item.request }
            if try link.socket.send(parts: [envelope, []] + item.request.parts, dontWait: true) { continue }
            // Not sent; unless its caller gave up meanwhile (and was resumed), it is still ours.
            guard let request = state.withLock({ $0.awaitingReply.removeValue(forKey: item.id) }) else { continue }
            if ContinuousClock.now >= request.sendBy {
                request.continuation.resume(throwing: Failure.unavailable("no producer is listening on \(request.target.endpoint)"))
            } else {
                waiting.append((item.id, request))
            }
        }
        if !waiting.isEmpty { state.withLock { $0.unsent.insert(contentsOf: waiting, at: 0) } }
    }

    /// The socket to `target`, connected now if there is none; past ``maxTargets`` the one
    /// used least recently is closed first.
    private func link(to target: ControlTarget, in links: inout [ControlTarget: Link], home: ControlTarget) throws -> Link {
        if let link = links[target] { return link }
        if links.count > Self.maxTargets, let oldest = links.filter({ $0.key != home }).min(by: { $0.value.lastUsed < $1.value.lastUsed }) {
            links.removeValue(forKey: oldest.key)?.socket.close()
        }
        let link = try Link(context: context, target: target)
        links[target] = link
        logger.info("control link opened", metadata: ["endpoint": "\(target.endpoint)"])
        return link
    }

    /// Closes sockets to announced endpoints that no request used for ``idleTargetLimit``
    /// (a producer gone for good), unless a reply is awaited on them.
    private func closeIdle(_ links: inout [ControlTarget: Link], home: ControlTarget) {
        let now = ContinuousClock.now
        let busy = state.withLock { state in Set(state.awaitingReply.values.map(\.target) + state.unsent.map(\.request.target)) }
        for (target, link) in links where target != home && !busy.contains(target) && link.lastUsed.duration(to: now) > Self.idleTargetLimit {
            links.removeValue(forKey: target)?.socket.close()
        }
    }

    /// Fails every request whose deadline has passed.
    private func expire() {
        let now = ContinuousClock.now
        let expired = state.withLock { state in
            let ids = state.awaitingReply.filter { $0.value.deadline <= now }.map(\.key)
            return ids.compactMap { state.awaitingReply.removeValue(forKey: $0) }
        }
        for pending in expired { pending.continuation.resume(throwing: Failure.timedOut) }
    }

    /// Until the nearest deadline; short while something waits to be sent.
    private func pollTimeoutMilliseconds() -> Int {
        state.withLock { state in
            if !state.unsent.isEmpty { return 10 }
            guard let nearest = state.awaitingReply.values.map(\.deadline).min() else { return -1 }
            return max(1, Int(ContinuousClock.now.duration(to: nearest).milliseconds) + 1)
        }
    }

    private func failAll(with failure: Failure) {
        let pending = state.withLock { state in
            state.stopped = true
            defer {
                state.unsent.removeAll()
                state.awaitingReply.removeAll()
            }
            return state.unsent.map(\.request) + Array(state.awaitingReply.values)
        }
        for request in pending { request.continuation.resume(throwing: failure) }
    }
}

/// Where a control request goes: a producer's control endpoint and, on `tcp://`, the CURVE
/// keys of the link.
struct ControlTarget: Hashable, Sendable {
    let endpoint: String
    let curve: CurveClientSettings?

    static func == (a: ControlTarget, b: ControlTarget) -> Bool {
        a.endpoint == b.endpoint && a.curve?.serverKey == b.curve?.serverKey && a.curve?.keyPair.publicKey == b.curve?.keyPair.publicKey
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(endpoint)
        hasher.combine(curve?.serverKey)
    }
}
