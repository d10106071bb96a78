import CZMQ

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Waits on several sockets (and plain file descriptors) at once (`zmq_poll`).
public enum ZMQPoll {
    public enum Item {
        case socket(ZMQSocket)
        /// A file descriptor such as a ``PollWakeup``'s.
        case fileDescriptor(Int32)
    }

    /// Blocks until at least one item can be read, or `timeoutMilliseconds` pass (-1: no limit).
    /// - Returns: for each item, whether it can be read now.
    /// - Throws: ``ZMQError`` (``ZMQError/isContextTerminated`` once the context is shut down).
    public static func readable(_ items: [Item], timeoutMilliseconds: Int) throws -> [Bool] {
        var pollItems = try items.map { item -> zmq_pollitem_t in
            switch item {
            case .socket(let socket):
                zmq_pollitem_t(socket: try socket.live("zmq_poll"), fd: 0, events: Int16(ZMQ_POLLIN), revents: 0)
            case .fileDescriptor(let fd):
                zmq_pollitem_t(socket: nil, fd: fd, events: Int16(ZMQ_POLLIN), revents: 0)
            }
        }
        while true {
            let result = zmq_poll(&pollItems, Int32(pollItems.count), timeoutMilliseconds)
            if result >= 0 { return pollItems.map { $0.revents & Int16(ZMQ_POLLIN) != 0 } }
            let error = ZMQError.last("zmq_poll")
            if error.code != EINTR { throw error }
        }
    }
}

/// Wakes a thread that waits in ``ZMQPoll/readable(_:timeoutMilliseconds:)`` from any other
/// thread: a non-blocking pipe that the waiter polls beside its sockets.
///
/// ZeroMQ sockets must stay on their own thread, so work done elsewhere hands its result over
/// (through a lock) and calls ``signal()``; the socket's thread wakes, ``drain()``s and sends.
public final class PollWakeup: Sendable {
    /// Poll this for reading.
    public let fileDescriptor: Int32
    private let writeEnd: Int32

    public init() throws {
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else { throw ZMQError(code: errno, operation: "pipe") }
        for end in ends { _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK) }
        fileDescriptor = ends[0]
        writeEnd = ends[1]
    }

    deinit {
        close(fileDescriptor)
        close(writeEnd)
    }

    /// Makes the read end readable; a full pipe already is, so a failed write changes nothing.
    public func signal() {
        var byte: UInt8 = 1
        _ = write(writeEnd, &byte, 1)
    }

    /// Empties the pipe, so the next poll waits again.
    public func drain() {
        var buffer = [UInt8](repeating: 0, count: 256)
        while read(fileDescriptor, &buffer, buffer.count) > 0 {}
    }
}
