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

/// The `permessage-deflate` answer for a client's `Sec-WebSocket-Extensions` offer.
enum DeflateNegotiation {
    /// What the gateway answers when it accepts: no context takeover either way, so every
    /// message stands alone and one compressed frame fits every client.
    static let response = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"

    /// Whether some offer in `header` can be accepted with ``response``: any
    /// `permessage-deflate` offer that does not ask for a server window under 15 bits.
    static func accepts(_ header: String?) -> Bool {
        guard let header else { return false }
        for offer in header.split(separator: ",") {
            let parts = offer.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            guard parts.first == "permessage-deflate" else { continue }
            let narrowWindow = parts.dropFirst().contains { part in
                part.hasPrefix("server_max_window_bits") && !part.hasSuffix("=15") && part != "server_max_window_bits"
            }
            if !narrowWindow { return true }
        }
        return false
    }
}

