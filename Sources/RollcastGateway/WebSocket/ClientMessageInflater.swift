import CompressNIO
import NIOCore

/// Inflates what a client that negotiated `permessage-deflate` sends compressed (browsers do on
/// such a connection): each message on its own (`client_no_context_takeover`), at most
/// `limit` bytes out, so a small message that inflates to much is refused, not unpacked.
///
/// Made on a connection's first compressed message: clients that never send one hold none.
final class ClientMessageInflater {
    enum Failure: Error {
        case tooLarge
        case corrupt
    }

    private let decompressor: ZlibDecompressor
    let limit: Int
    /// The empty stored block a sender drops from every message (RFC 7692 §7.2.1), put back.
    private static let tail = ByteBuffer(bytes: [0x00, 0x00, 0xFF, 0xFF])

    init(limit: Int) throws {
        decompressor = try ZlibDecompressor(algorithm: .deflate, windowSize: 15)
        self.limit = limit
    }

    /// The message `compressed` holds.
    func inflate(_ compressed: ByteBuffer) throws(Failure) -> ByteBuffer {
        var input = compressed
        var tail = Self.tail
        input.writeBuffer(&tail)
        // One byte past the limit tells a message at the limit from one over it.
        var output = ByteBufferAllocator().buffer(capacity: limit + 1)
        do {
            try decompressor.reset()
            try decompressor.inflate(from: &input, to: &output)
        } catch let error as CompressNIOError where error == .bufferOverflow {
            throw .tooLarge
        } catch let error as CompressNIOError where error == .inputBufferOverflow {
            // All of the input was taken without the stream ending: a whole message inflated.
        } catch {
            throw .corrupt
        }
        guard output.readableBytes <= limit else { throw .tooLarge }
        return output
    }
}
