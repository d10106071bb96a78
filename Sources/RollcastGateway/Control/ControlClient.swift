import Foundation
import Logging
import RollcastCore
import ServiceLifecycle
import Synchronization
import ZeroMQ

/// Sends control commands to the producer over one DEALER socket, many at once, each with a
/// deadline.
///
/// Every request carries an id in its envelope; the producer's ROUTER sends it back with the
/// reply, so replies may come in any order and a slow command (a large mock load) holds up
/// no other. The socket lives on a thread of its own (ZeroMQ sockets are not thread-safe):
/// ``send(_:timeout:)`` queues the request and wakes that thread, which sends it, matches the
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
        let parts: [[UInt8]]
        /// Past this the caller gets ``Failure/timedOut``.
        let deadline: ContinuousClock.Instant
        /// Past this a request that could not be sent gets ``Failure/unavailable(_:)``.
        let sendBy: ContinuousClock.Instant
        let continuation: CheckedContinuation<ControlReply, any Error>
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

    /// Sends `request` and waits for the reply until `timeout` has passed since the call.
    /// - Throws: ``Failure`` when the producer is down, slow, or answers nonsense.
    func send(_ request: ControlRequest, timeout: Duration) async throws -> ControlReply {
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
                    state.unsent.append((id, Pending(parts: parts, deadline: deadline, sendBy: sendBy, continuation: continuation)))
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

    private func exchangeLoop() throws {
        // First, so that no caller waits for ever, even when the socket cannot be made (a
        // context shut down before this thread started).
        defer { failAll(with: .unavailable("the gateway is shutting down")) }
        let socket = try ZMQSocket(context: context, type: .dealer)
        defer { socket.close() }
        // With ZMQ_IMMEDIATE a send fails at once while no producer is connected, so a
        // request is never queued for a producer that is not there.
        try socket.setImmediate(true)
        try socket.setMaxMessageSize(16 << 20)
        try CurveLink.secure(socket, endpoint: endpoint, curve: curve)
        try socket.connect(endpoint)
        let decoder = JSONDecoder()
        do {
            while true {
                let readable = try ZMQPoll.readable(
                    [.socket(socket), .fileDescriptor(wakeup.fileDescriptor)], timeoutMilliseconds: pollTimeoutMilliseconds()
                )
                if readable[1] { wakeup.drain() }
                try sendQueued(on: socket)
                while let received = try socket.receiveMultipart(dontWait: true, maxParts: 3) {
                    let parts = received.parts
                    // [request id, empty delimiter, reply]
                    guard received.total == 3, parts[0].count == 8, parts[1].count == 0 else {
                        logger.warning("control reply with an unknown shape dropped", metadata: ["parts": "\(received.total)"])
                        continue
                    }
                    let id = parts[0].withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
                    guard let pending = state.withLock({ $0.awaitingReply.removeValue(forKey: id) }) else { continue }  // came too late
                    if let reply = try? decoder.decode(ControlReply.self, from: Data(parts[2].bytes)) {
                        pending.continuation.resume(returning: reply)
                    } else {
                        pending.continuation.resume(throwing: Failure.badReply)
                    }
                }
                expire()
            }
        } catch let error as ZMQError where error.isContextTerminated {
            return
        }
    }

    /// Sends what is queued; a request the producer cannot take yet waits until its grace ends.
    private func sendQueued(on socket: ZMQSocket) throws {
        let queued = state.withLock { state in
            defer { state.unsent.removeAll() }
            return state.unsent
        }
        var waiting: [(id: UInt64, request: Pending)] = []
        for item in queued {
            var id = item.id
            let envelope = withUnsafeBytes(of: &id) { Array($0) }
            // Move to "awaiting" first: the reply can be read before this loop ends.
            state.withLock { $0.awaitingReply[item.id] = item.request }
            if try socket.send(parts: [envelope, []] + item.request.parts, dontWait: true) { continue }
            // Not sent; unless its caller gave up meanwhile (and was resumed), it is still ours.
            guard let request = state.withLock({ $0.awaitingReply.removeValue(forKey: item.id) }) else { continue }
            if ContinuousClock.now >= request.sendBy {
                request.continuation.resume(throwing: Failure.unavailable("no producer is listening on \(endpoint)"))
            } else {
                waiting.append((item.id, request))
            }
        }
        if !waiting.isEmpty { state.withLock { $0.unsent.insert(contentsOf: waiting, at: 0) } }
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
