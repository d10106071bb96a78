import CompressNIO
import Foundation
import NIOCore

/// The bytes of one replay file, handed to its reader in blocks.
///
/// A plain file is mapped and handed over whole, as one final block: nothing is copied, and the
/// kernel drops its pages once read. A gzip file (named `.gz`, or starting with gzip's magic
/// bytes) is inflated as it is read, a block of about 4 MiB at a time: it is never unpacked to
/// disk, and what is held at once is one block plus the record that crosses into the next.
/// Files of several gzip members (`cat a.gz b.gz`) are read whole.
enum ReplayBytes {
    case mapped(Data)
    case gzip(GzipBlocks)

    struct Unreadable: Error {
        /// Says what is wrong with the file, without naming it (`does not exist`).
        let reason: String
    }

    static func open(path: String) throws(Unreadable) -> ReplayBytes {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw Unreadable(reason: isDirectory.boolValue ? "is a folder, not a CSV file" : "does not exist")
        }
        let data: Data
        do {
            // Mapped, not copied: the file's pages are read as the rows are, and can be dropped after.
            data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        } catch {
            throw Unreadable(reason: "cannot be read (\((error as NSError).localizedDescription))")
        }
        let isGzip = data.starts(with: [0x1F, 0x8B])
        if path.lowercased().hasSuffix(".gz"), !isGzip { throw Unreadable(reason: "is named .gz but is not a gzip file") }
        return isGzip ? .gzip(try GzipBlocks(data)) : .mapped(data)
    }

    /// Hands `body` the file's bytes in blocks, each starting with what the previous call left
    /// unconsumed. `body` gets the block and whether it is the last, and returns how many bytes
    /// it consumed, or `nil` to stop reading.
    func forEachBlock(_ body: (UnsafeRawBufferPointer, _ final: Bool) -> Int?) throws(Unreadable) {
        switch self {
        case .mapped(let data):
            _ = data.withUnsafeBytes { body($0, true) }
        case .gzip(let blocks):
            try blocks.forEachBlock(body)
        }
    }
}

/// A gzip file inflated a block at a time (``ReplayBytes``).
final class GzipBlocks {
    /// Inflated bytes handed over at once (plus what the last block left over).
    static let blockSize = 4 << 20
    /// A record longer than this in a gzip file stops the read: only a quote that is never
    /// closed makes one, and the rest of the file would be held to find out.
    static let maxRecordBytes = 64 << 20
    /// Compressed bytes given to zlib at once.
    private static let inputSize = 1 << 20

    private let compressed: Data
    private let decompressor: ZlibDecompressor

    init(_ compressed: Data) throws(ReplayBytes.Unreadable) {
        self.compressed = compressed
        do {
            decompressor = try ZlibDecompressor(algorithm: .gzip)
        } catch {
            throw ReplayBytes.Unreadable(reason: "cannot be inflated (\(error))")
        }
    }

    func forEachBlock(_ body: (UnsafeRawBufferPointer, _ final: Bool) -> Int?) throws(ReplayBytes.Unreadable) {
        var block = ByteBufferAllocator().buffer(capacity: Self.blockSize + (64 << 10))
        var input = ByteBufferAllocator().buffer(capacity: Self.inputSize)
        var offset = 0  // compressed bytes moved into `input` so far
        while true {
            let final = try fill(&block, input: &input, offset: &offset)
            guard let consumed = block.withUnsafeReadableBytes({ body($0, final) }) else { return }
            block.moveReaderIndex(forwardBy: consumed)
            if final { return }
            if block.readableBytes > Self.maxRecordBytes {
                throw ReplayBytes.Unreadable(reason: "holds a record longer than \(Self.maxRecordBytes >> 20) MiB (a quoted field that is never closed?)")
            }
            block.discardReadBytes()
        }
    }

    /// Inflates into `block` until it holds a block's worth more; returns whether the file ended.
    private func fill(_ block: inout ByteBuffer, input: inout ByteBuffer, offset: inout Int) throws(ReplayBytes.Unreadable) -> Bool {
        let target = block.readableBytes + Self.blockSize
        while block.readableBytes < target {
            if block.writableBytes == 0 { block.reserveCapacity(minimumWritableBytes: Self.blockSize) }
            if input.readableBytes == 0 {
                if offset == compressed.count { return try finish(&block) }
                let end = min(offset + Self.inputSize, compressed.count)
                input.clear()
                compressed.withUnsafeBytes { bytes in _ = input.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[offset..<end])) }
                offset = end
            }
            do {
                try decompressor.inflate(from: &input, to: &block)
                // It returned with input left: that gzip member ended, and another follows.
                if input.readableBytes > 0 { try decompressor.reset() }
            } catch let error as CompressNIOError where error == .bufferOverflow {
                block.reserveCapacity(minimumWritableBytes: Self.blockSize)
            } catch let error as CompressNIOError where error == .inputBufferOverflow {
                continue
            } catch {
                throw ReplayBytes.Unreadable(reason: "is not valid gzip data near compressed byte \(offset - input.readableBytes) (\(error))")
            }
        }
        return false
    }

    /// At the end of the compressed bytes: `true` when the last member ended there too.
    private func finish(_ block: inout ByteBuffer) throws(ReplayBytes.Unreadable) -> Bool {
        var empty = ByteBufferAllocator().buffer(capacity: 16)
        while true {
            if block.writableBytes == 0 { block.reserveCapacity(minimumWritableBytes: Self.blockSize) }
            do {
                try decompressor.inflate(from: &empty, to: &block)
                return true
            } catch let error as CompressNIOError where error == .bufferOverflow {
                continue
            } catch {
                throw ReplayBytes.Unreadable(reason: "ends before its compressed data does (a gzip file cut short)")
            }
        }
    }
}
