import CompressNIO
import Foundation
import NIOCore

/// Compresses each snapshot once for every client that negotiated `permessage-deflate`.
///
/// Clients get `server_no_context_takeover`, so each message is compressed on its own
/// and one compressed frame serves every such client: the cost is one deflate per
/// snapshot, not one per client, while the bytes each client gets shrink about 5×.
/// - Important: not thread-safe; the subscriber's thread owns it.
final class SnapshotDeflater {
    private let compressor: ZlibCompressor
    /// The empty stored block a sync flush ends with; RFC 7692 has the sender drop it.
    private static let flushTail: [UInt8] = [0x00, 0x00, 0xFF, 0xFF]

    init() throws {
        compressor = try ZlibCompressor(
            algorithm: .deflate,
            configuration: .init(windowSize: 15, compressionLevel: ZlibConfiguration.CompressionLevel.fastestCompression.rawValue)
        )
    }

    /// The payload of a compressed text frame (RSV1 set) holding `payload`, or `nil` on failure.
    func deflate(_ payload: ByteBuffer) -> ByteBuffer? {
        var input = payload
        var output = ByteBufferAllocator().buffer(capacity: compressor.maxSize(from: input))
        do {
            try compressor.reset()
            try compressor.deflate(from: &input, to: &output, flush: .sync)
        } catch {
            return nil
        }
        guard input.readableBytes == 0, output.readableBytes >= 4,
            output.getBytes(at: output.writerIndex - 4, length: 4) == Self.flushTail
        else { return nil }
        output.moveWriterIndex(to: output.writerIndex - 4)
        return output
    }
}
