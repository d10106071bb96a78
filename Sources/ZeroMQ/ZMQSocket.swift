import CZMQ

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The ZeroMQ socket patterns this system uses.
public enum ZMQSocketType: Sendable {
    case pub, sub, req, rep, dealer, router, push, pull, xpub, xsub

    var rawValue: Int32 {
        switch self {
        case .pub: ZMQ_PUB
        case .sub: ZMQ_SUB
        case .req: ZMQ_REQ
        case .rep: ZMQ_REP
        case .dealer: ZMQ_DEALER
        case .router: ZMQ_ROUTER
        case .push: ZMQ_PUSH
        case .pull: ZMQ_PULL
        case .xpub: ZMQ_XPUB
        case .xsub: ZMQ_XSUB
        }
    }
}

/// A ZeroMQ socket.
///
/// - Important: ZeroMQ sockets are not thread-safe. Create, use and close a socket on one
///   thread (or one serial queue); never from tasks on the cooperative pool, where a blocking
///   receive would starve other work. To stop a thread blocked in ``receive()``, call
///   ``ZMQContext/shutdown()`` from another thread.
public final class ZMQSocket {
    private var handle: UnsafeMutableRawPointer?
    // Keeps the context alive until this socket is closed.
    /// The context the socket was made in (a ``ZAPHandler`` for it must use the same).
    public let context: ZMQContext

    /// Creates a socket; linger is 0 so that closing never waits for unsent messages.
    public init(context: ZMQContext, type: ZMQSocketType) throws {
        guard let handle = zmq_socket(context.handle, type.rawValue) else { throw ZMQError.last("zmq_socket") }
        self.handle = handle
        self.context = context
        try setOption(ZMQ_LINGER, Int32(0))
    }

    deinit { close() }

    /// Closes the socket; further calls fail with `ENOTSOCK`. Closing twice is harmless.
    public func close() {
        if let handle {
            zmq_close(handle)
            self.handle = nil
        }
    }

    func live(_ operation: String) throws -> UnsafeMutableRawPointer {
        guard let handle else { throw ZMQError(code: ENOTSOCK, operation: operation) }
        return handle
    }

    // MARK: Endpoints

    /// Binds to an endpoint such as `ipc:///run/x.sock` or `tcp://127.0.0.1:*`.
    public func bind(_ endpoint: String) throws {
        guard zmq_bind(try live("zmq_bind"), endpoint) == 0 else { throw ZMQError.last("zmq_bind \(endpoint)") }
    }

    /// Connects to an endpoint; the connection is made (and remade) in the background.
    public func connect(_ endpoint: String) throws {
        guard zmq_connect(try live("zmq_connect"), endpoint) == 0 else { throw ZMQError.last("zmq_connect \(endpoint)") }
    }

    /// The endpoint last bound, with a wildcard port resolved (`ZMQ_LAST_ENDPOINT`).
    public var lastEndpoint: String {
        get throws {
            var buffer = [CChar](repeating: 0, count: 1024)
            var size = buffer.count
            guard zmq_getsockopt(try live("zmq_getsockopt"), ZMQ_LAST_ENDPOINT, &buffer, &size) == 0 else {
                throw ZMQError.last("zmq_getsockopt ZMQ_LAST_ENDPOINT")
            }
            return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }

    // MARK: Options

    /// Sets an integer option such as `ZMQ_SNDHWM`.
    public func setOption(_ option: Int32, _ value: Int32) throws {
        var value = value
        guard zmq_setsockopt(try live("zmq_setsockopt"), option, &value, MemoryLayout<Int32>.size) == 0 else {
            throw ZMQError.last("zmq_setsockopt \(option)")
        }
    }

    /// Sets a 64-bit integer option such as `ZMQ_MAXMSGSIZE`.
    public func setOption(_ option: Int32, _ value: Int64) throws {
        var value = value
        guard zmq_setsockopt(try live("zmq_setsockopt"), option, &value, MemoryLayout<Int64>.size) == 0 else {
            throw ZMQError.last("zmq_setsockopt \(option)")
        }
    }

    /// Sets a byte-string option such as `ZMQ_SUBSCRIBE`.
    public func setOption(_ option: Int32, bytes: [UInt8]) throws {
        let socket = try live("zmq_setsockopt")
        let result = bytes.withUnsafeBytes { zmq_setsockopt(socket, option, $0.baseAddress, $0.count) }
        guard result == 0 else { throw ZMQError.last("zmq_setsockopt \(option)") }
    }

    /// Messages queued per peer before PUB drops and other patterns block (`ZMQ_SNDHWM`).
    public func setSendHighWaterMark(_ messages: Int32) throws { try setOption(ZMQ_SNDHWM, messages) }

    /// On an XPUB socket: pass every subscription up, not only a topic's first (`ZMQ_XPUB_VERBOSE`).
    public func setVerboseSubscriptions(_ on: Bool) throws { try setOption(ZMQ_XPUB_VERBOSE, Int32(on ? 1 : 0)) }

    /// Messages queued on receive before the peer is held back (`ZMQ_RCVHWM`).
    public func setReceiveHighWaterMark(_ messages: Int32) throws { try setOption(ZMQ_RCVHWM, messages) }

    /// How long a receive waits before failing with `EAGAIN`; -1 waits forever.
    public func setReceiveTimeout(milliseconds: Int32) throws { try setOption(ZMQ_RCVTIMEO, milliseconds) }

    /// How long a send waits before failing with `EAGAIN`; -1 waits forever.
    public func setSendTimeout(milliseconds: Int32) throws { try setOption(ZMQ_SNDTIMEO, milliseconds) }

    /// Larger inbound messages make libzmq drop the peer instead of allocating (`ZMQ_MAXMSGSIZE`).
    public func setMaxMessageSize(_ bytes: Int64) throws { try setOption(ZMQ_MAXMSGSIZE, bytes) }

    /// Queue messages only to completed connections, so a send to nobody fails at once (`ZMQ_IMMEDIATE`).
    public func setImmediate(_ on: Bool) throws { try setOption(ZMQ_IMMEDIATE, Int32(on ? 1 : 0)) }

    /// How long closing waits to deliver queued messages (`ZMQ_LINGER`); sockets start at 0,
    /// which drops them. A pusher that must deliver everything before it exits sets this.
    public func setLinger(milliseconds: Int32) throws { try setOption(ZMQ_LINGER, milliseconds) }

    /// Subscribes a SUB socket to messages whose first part starts with `prefix` ("" is all).
    public func subscribe(_ prefix: String) throws { try setOption(ZMQ_SUBSCRIBE, bytes: Array(prefix.utf8)) }

    // MARK: Sending

    /// Sends one part. Returns `false` when a non-blocking send would have blocked.
    @discardableResult
    public func send(_ bytes: UnsafeRawBufferPointer, more: Bool = false, dontWait: Bool = false) throws -> Bool {
        let socket = try live("zmq_send")
        let flags = (more ? ZMQ_SNDMORE : 0) | (dontWait ? ZMQ_DONTWAIT : 0)
        while true {
            if zmq_send(socket, bytes.baseAddress, bytes.count, flags) >= 0 { return true }
            let error = ZMQError.last("zmq_send")
            if error.code == EINTR { continue }
            if error.isWouldBlock { return false }
            throw error
        }
    }

    /// Sends one part from anything that holds contiguous bytes (`[UInt8]`, `Data`, …).
    @discardableResult
    public func send<Bytes: Sequence<UInt8>>(_ bytes: Bytes, more: Bool = false, dontWait: Bool = false) throws -> Bool {
        let sent = try bytes.withContiguousStorageIfAvailable { buffer in
            try send(UnsafeRawBufferPointer(buffer), more: more, dontWait: dontWait)
        }
        if let sent { return sent }
        return try Array(bytes).withUnsafeBytes { try send($0, more: more, dontWait: dontWait) }
    }

    /// Sends a multipart message; all parts arrive together or not at all.
    @discardableResult
    public func send(parts: [[UInt8]], dontWait: Bool = false) throws -> Bool {
        for (index, part) in parts.enumerated() {
            let isLast = index == parts.count - 1
            guard try send(part, more: !isLast, dontWait: dontWait) else {
                // libzmq queues multipart messages atomically: only the first part can block.
                precondition(index == 0, "a later part of a multipart message would block")
                return false
            }
        }
        return true
    }

    /// Sends received parts on as one multipart message without copying their bytes (each part
    /// is shared, so the caller keeps its messages).
    @discardableResult
    public func send(messages: [ZMQMessage], dontWait: Bool = false) throws -> Bool {
        let socket = try live("zmq_msg_send")
        for (index, message) in messages.enumerated() {
            let flags = (index < messages.count - 1 ? ZMQ_SNDMORE : 0) | (dontWait ? ZMQ_DONTWAIT : 0)
            let outgoing = message.share()
            while true {
                // On success libzmq owns the content; `outgoing` is left empty.
                if zmq_msg_send(outgoing.pointer, socket, flags) >= 0 { break }
                let error = ZMQError.last("zmq_msg_send")
                if error.code == EINTR { continue }
                if error.isWouldBlock {
                    precondition(index == 0, "a later part of a multipart message would block")
                    return false
                }
                throw error
            }
        }
        return true
    }

    // MARK: Receiving

    /// Receives one part; `nil` when the receive timeout ran out or a non-blocking receive found nothing.
    public func receive(dontWait: Bool = false) throws -> ZMQMessage? {
        let socket = try live("zmq_msg_recv")
        let message = ZMQMessage()
        while true {
            if zmq_msg_recv(message.pointer, socket, dontWait ? ZMQ_DONTWAIT : 0) >= 0 { return message }
            let error = ZMQError.last("zmq_msg_recv")
            if error.code == EINTR { continue }
            if error.isWouldBlock { return nil }
            throw error
        }
    }

    /// Receives all parts of one multipart message; `nil` when the receive timed out.
    public func receiveMultipart(dontWait: Bool = false) throws -> [ZMQMessage]? {
        try receiveMultipart(dontWait: dontWait, maxParts: .max).map(\.parts)
    }

    /// Receives one multipart message keeping at most `maxParts` parts: the rest are received
    /// and dropped one by one, so a message of many large parts costs one part's memory.
    /// - Returns: the parts kept and how many the message had; `nil` when the receive timed out.
    public func receiveMultipart(dontWait: Bool = false, maxParts: Int) throws -> (parts: [ZMQMessage], total: Int)? {
        guard let first = try receive(dontWait: dontWait) else { return nil }
        var parts = [first]
        var total = 1
        var more = first.hasMore
        // The remaining parts have already arrived with the first one.
        while more {
            guard let next = try receive() else { break }
            total += 1
            more = next.hasMore
            if parts.count < maxParts { parts.append(next) }
        }
        return (parts, total)
    }
}
