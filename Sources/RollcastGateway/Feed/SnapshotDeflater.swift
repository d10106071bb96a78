import CompressNIO
import Foundation
import NIOCore
import Synchronization

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

/// Deflaters lent out for the messages composed per selection, which are made on whichever
/// event loop first needs them: a deflater holds about 300 KB of zlib state, too much to make
/// per message, and is not thread-safe, so each is used by one borrower at a time.
final class DeflaterPool: Sendable {
    /// A deflater while idle in the pool: only one borrower holds it at a time.
    private struct Idle: @unchecked Sendable {
        let deflater: SnapshotDeflater
    }

    private let idle = Mutex<[Idle]>([])
    /// Most deflaters kept idle: one per event loop is all that is used at once.
    private let keep: Int

    init(keep: Int = 8) {
        self.keep = keep
    }

    /// `payload` compressed as a `permessage-deflate` message, or `nil` on failure.
    func deflate(_ payload: ByteBuffer) -> ByteBuffer? {
        guard let deflater = idle.withLock({ $0.popLast()?.deflater }) ?? (try? SnapshotDeflater()) else { return nil }
        let compressed = deflater.deflate(payload)
        let returned = Idle(deflater: deflater)
        idle.withLock { if $0.count < keep { $0.append(returned) } }
        return compressed
    }
}
