import Dispatch
import Foundation
import RollcastCore
import ZeroMQ

/// Sends control commands to the producer over a REQ socket, one at a time, with a deadline.
///
/// REQ is lock-step: a request whose reply never came leaves the socket unable to send.
/// So a timed-out socket is closed and a fresh one made for the next request. Requests
/// queue on one serial queue (ZeroMQ sockets are not thread-safe); each carries its own
/// deadline, so a request queued behind a hung one still fails in time.
final class ControlClient: @unchecked Sendable {
    // Safe to share: `socket` is touched only on `queue`.
    let endpoint: String
    private let context: ZMQContext
    private let queue = DispatchQueue(label: "rollcast.control-client")
    private var socket: ZMQSocket?

    enum Failure: Error, CustomStringConvertible {
        case unavailable(String)
        case timedOut
        case badReply

        var description: String {
            switch self {
            case .unavailable(let reason): "producer is not reachable: \(reason)"
            case .timedOut: "producer did not answer in time"
            case .badReply: "producer sent a reply that could not be read"
            }
        }
    }

    /// How long a request waits for a connection to the producer before it is called down.
    static let connectGrace: Duration = .milliseconds(250)

    init(endpoint: String) throws {
        self.endpoint = endpoint
        self.context = try ZMQContext()
        // Connect ahead of the first request, so that it finds the connection made.
        queue.async { self.socket = try? self.makeSocket() }
    }

    /// Sends `request` and waits for the reply until `timeout` has passed since the call.
    /// - Throws: ``Failure`` when the producer is down, slow, or answers nonsense.
    func send(_ request: ControlRequest, timeout: Duration) async throws -> ControlReply {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        let parts = try request.parts()
        return try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result { try self.exchange(parts, deadline: deadline) })
            }
        }
    }

    private func exchange(_ parts: [[UInt8]], deadline: ContinuousClock.Instant) throws -> ControlReply {
        let remaining = ContinuousClock.now.duration(to: deadline)
        guard remaining > .zero else { throw Failure.timedOut }
        let socket = try self.socket ?? makeSocket()
        self.socket = socket
        do {
            // With ZMQ_IMMEDIATE a send waits only for a connected producer; a short grace
            // covers a producer that (re)started a moment ago.
            try socket.setSendTimeout(milliseconds: Self.milliseconds(min(remaining, Self.connectGrace)))
            guard try socket.send(parts: parts) else {
                throw Failure.unavailable("no producer is listening on \(endpoint)")
            }
            try socket.setReceiveTimeout(milliseconds: Self.milliseconds(ContinuousClock.now.duration(to: deadline)))
            guard let reply = try socket.receive() else {
                discardSocket()
                throw Failure.timedOut
            }
            guard let decoded = try? JSONDecoder().decode(ControlReply.self, from: Data(reply.bytes)) else { throw Failure.badReply }
            return decoded
        } catch let error as ZMQError {
            discardSocket()
            throw Failure.unavailable(error.description)
        }
    }

    private func makeSocket() throws -> ZMQSocket {
        let socket = try ZMQSocket(context: context, type: .req)
        try socket.setImmediate(true)
        try socket.setMaxMessageSize(16 << 20)
        try socket.connect(endpoint)
        return socket
    }

    private func discardSocket() {
        socket?.close()
        // A fresh socket starts connecting now, ready for the next request.
        socket = try? makeSocket()
    }

    private static func milliseconds(_ duration: Duration) -> Int32 {
        let (seconds, attoseconds) = duration.components
        return Int32(clamping: max(1, seconds * 1000 + attoseconds / 1_000_000_000_000_000))
    }
}
