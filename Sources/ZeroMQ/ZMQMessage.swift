import CZMQ

/// One received ZeroMQ message part, read in place without copying.
public final class ZMQMessage {
    let pointer: UnsafeMutablePointer<zmq_msg_t>

    init() {
        pointer = .allocate(capacity: 1)
        zmq_msg_init(pointer)
    }

    deinit {
        zmq_msg_close(pointer)
        pointer.deallocate()
    }

    /// The number of bytes in this part.
    public var count: Int { zmq_msg_size(pointer) }

    /// Whether more parts of the same multipart message follow.
    public var hasMore: Bool { zmq_msg_more(pointer) != 0 }

    /// Calls `body` with the part's bytes; they are valid only inside `body`.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: zmq_msg_data(pointer), count: count))
    }

    /// A copy of the part's bytes.
    public var bytes: [UInt8] { withUnsafeBytes { Array($0) } }

    /// Another message with the same content: libzmq shares a large part's bytes (counting
    /// references) instead of copying them.
    public func share() -> ZMQMessage {
        let copy = ZMQMessage()
        zmq_msg_copy(copy.pointer, pointer)
        return copy
    }
}
