import CZMQ

/// A libzmq context: the I/O threads that every socket made from it shares.
///
/// libzmq contexts are thread-safe, so one context may be used from any thread.
/// - Important: call ``shutdown()`` to make every blocking call on its sockets return
///   ``ZMQError/isContextTerminated``; the context is terminated when the last reference goes.
public final class ZMQContext: @unchecked Sendable {
    // Safe to share: zmq_ctx_* functions are documented as thread-safe.
    let handle: UnsafeMutableRawPointer

    public init(ioThreads: Int32 = 1) throws {
        guard let handle = zmq_ctx_new() else { throw ZMQError.last("zmq_ctx_new") }
        zmq_ctx_set(handle, ZMQ_IO_THREADS, ioThreads)
        self.handle = handle
    }

    /// Makes blocking calls on this context's sockets return `ETERM`, from any thread.
    public func shutdown() {
        zmq_ctx_shutdown(handle)
    }

    deinit {
        // zmq_ctx_term blocks until every socket is closed; sockets hold a reference
        // to their context, so by now they all are.
        while zmq_ctx_term(handle) != 0 && zmq_errno() == EINTR {}
    }
}
