import CompressNIO
import Foundation
import NIOCore

/// Inflates just the start of a `permessage-deflate` message: enough to read `seq` and
/// `generated_at` without paying for the whole snapshot. One per event loop, reused.
final class HeadInflater {
    private let decompressor: ZlibDecompressor

    init() throws {
        decompressor = try ZlibDecompressor(algorithm: .deflate)
    }

    func head(of compressed: ByteBuffer, bytes: Int = 300) -> String? {
        var input = compressed
        var output = ByteBufferAllocator().buffer(capacity: bytes)
        // A full output buffer (or input cut short) throws; what was inflated up to then is what we want.
        try? decompressor.inflate(from: &input, to: &output)
        try? decompressor.reset()
        return output.readString(length: output.readableBytes)
    }

    /// The inflater of the calling event-loop thread (every message stands alone, so one
    /// inflater serves all of a loop's connections).
    static func forCurrentThread() throws -> HeadInflater {
        if let existing = Thread.current.threadDictionary["rollcast.inflater"] as? HeadInflater { return existing }
        let inflater = try HeadInflater()
        Thread.current.threadDictionary["rollcast.inflater"] = inflater
        return inflater
    }
}
