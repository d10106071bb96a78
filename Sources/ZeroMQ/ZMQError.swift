import CZMQ

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An error reported by libzmq, carrying `zmq_strerror` text.
public struct ZMQError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The `errno` value libzmq reported.
    public let code: Int32
    /// The libzmq call that failed, for example `zmq_bind`.
    public let operation: String

    public init(code: Int32, operation: String) {
        self.code = code
        self.operation = operation
    }

    /// The error libzmq has just reported on this thread.
    static func last(_ operation: String) -> ZMQError {
        ZMQError(code: zmq_errno(), operation: operation)
    }

    /// The context was shut down (`zmq_ctx_shutdown`): the owner of the socket should stop.
    public var isContextTerminated: Bool { code == ETERM }

    /// A non-blocking call could not complete, or a timeout ran out.
    public var isWouldBlock: Bool { code == EAGAIN }

    public var description: String {
        "\(operation): \(String(cString: zmq_strerror(code)))"
    }
}
