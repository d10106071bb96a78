import CZMQ
import Foundation
import Synchronization

/// Answers ZeroMQ's authentication requests (ZAP, RFC 27) for one context: which CURVE peers
/// may connect to its server sockets, by public key.
///
/// libzmq lets every peer in while no handler is bound, so create this before binding a CURVE
/// server socket in the same context. It answers on a thread of its own until ``stop()``.
public final class ZAPHandler: Sendable {
    /// A peer's request: its public key (Z85), its address, the ZAP domain.
    public struct Request: Sendable {
        public let publicKey: String
        public let address: String
        public let domain: String
    }

    private let flags = Flags()

    /// - Parameter allow: whether a peer may connect; called on the handler's thread.
    public init(context: ZMQContext, name: String, allow: @escaping @Sendable (Request) -> Bool) throws {
        let socket = try ZMQSocket(context: context, type: .rep)
        try socket.bind("inproc://zeromq.zap.01")
        // Short waits, so that stop() is noticed without shutting the whole context down.
        try socket.setReceiveTimeout(milliseconds: 100)
        let flags = self.flags
        let box = UncheckedSocket(socket: socket)
        let thread = Thread {
            defer {
                box.socket.close()
                flags.finished.store(true, ordering: .releasing)
            }
            while !flags.stopped.load(ordering: .acquiring) {
                let parts: [ZMQMessage]
                do {
                    guard let received = try box.socket.receiveMultipart() else { continue }
                    parts = received
                } catch {
                    return
                }
                // version, request id, domain, address, identity, mechanism, credentials…
                guard parts.count >= 6 else { continue }
                let requestID = parts[1].bytes
                let domain = String(decoding: parts[2].bytes, as: UTF8.self)
                let address = String(decoding: parts[3].bytes, as: UTF8.self)
                let mechanism = String(decoding: parts[5].bytes, as: UTF8.self)
                var allowed = false
                if mechanism == "CURVE", parts.count >= 7, let key = ZMQCurve.encode(parts[6].bytes) {
                    allowed = allow(Request(publicKey: key, address: address, domain: domain))
                }
                let reply: [[UInt8]] = [
                    Array("1.0".utf8), requestID, Array((allowed ? "200" : "400").utf8),
                    Array((allowed ? "OK" : "key not allowed").utf8), [], [],
                ]
                _ = try? box.socket.send(parts: reply)
            }
        }
        thread.name = name
        thread.start()
    }

    /// Stops answering and closes the handler's socket, within about 100 ms.
    public func stop() {
        flags.stopped.store(true, ordering: .releasing)
        let deadline = Date().addingTimeInterval(2)
        while !flags.finished.load(ordering: .acquiring), Date() < deadline { usleep(5_000) }
    }

    deinit { stop() }
}

private final class Flags: Sendable {
    let stopped = Atomic<Bool>(false)
    let finished = Atomic<Bool>(false)
}

/// The handler's socket, moved once to its thread and used only there.
private final class UncheckedSocket: @unchecked Sendable {
    let socket: ZMQSocket
    init(socket: ZMQSocket) { self.socket = socket }
}
