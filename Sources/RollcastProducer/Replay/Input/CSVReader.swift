/// Reads CSV records (RFC 4180) from bytes in place, knowing the line each record starts on.
///
/// Written by hand rather than taken from a library for two reasons: a bad row must be
/// reported as `FILE:LINE`, which the CSV libraries in the package list do not track, and
/// replay must read over a million rows a second (`rollcast-bench replay` compares this reader
/// with CSV.swift, the fastest of them here). Fields are separated by commas; a field in
/// double quotes may hold commas, line breaks and `""` for a quote. Lines end in LF or CRLF;
/// blank lines are skipped; a UTF-8 byte order mark at the start of a file is skipped.
///
/// The bytes may be a whole file, or one block of a file read in blocks (a gzip file): then
/// a record that does not end within the block is not read; ``next(into:)`` returns `nil`
/// with ``consumed`` at its start, and the caller reads it again from a block that starts there.
struct CSVReader {
    private let bytes: UnsafeRawBufferPointer
    /// Whether the bytes end where the file does.
    private let final: Bool
    private var index = 0
    /// The line the next byte is on, from 1.
    private(set) var line: Int
    /// Unescaped copies of quoted fields that held `""`; fields point into it.
    private let scratch = ScratchBytes()

    /// Where a field's bytes are: in the input, or (for a quoted field with `""`) in the scratch copy.
    enum Field {
        case input(Range<Int>)
        case scratch(Range<Int>)
    }

    struct Malformed: Error {
        let line: Int
        let reason: String
    }

    /// - Parameters:
    ///   - final: the bytes end where the file does (a whole file, or its last block).
    ///   - line: the line the bytes start on.
    ///   - fileStart: the bytes start where the file does (where a byte order mark may be).
    init(bytes: UnsafeRawBufferPointer, final: Bool = true, line: Int = 1, fileStart: Bool = true) {
        self.bytes = bytes
        self.final = final
        self.line = line
        if fileStart, bytes.starts(with: [0xEF, 0xBB, 0xBF]) { index = 3 }
    }

    /// How many bytes the records read so far took: a block's next read starts there.
    var consumed: Int { index }

    /// Reads the next record into `fields`; returns the line it starts on, or `nil` at the end
    /// of the bytes (or, when they are not final, before a record they do not hold whole).
    /// - Throws: ``Malformed`` for a quote that is never closed or text after a closing quote.
    mutating func next(into fields: inout [Field]) throws(Malformed) -> Int? {
        fields.removeAll(keepingCapacity: true)
        scratch.count = 0
        // Blank lines are not records.
        while index < bytes.count, bytes[index] == 0x0A || bytes[index] == 0x0D {
            // A CR that ends a block may be the first half of a CRLF: the next block decides.
            if bytes[index] == 0x0D, index + 1 == bytes.count, !final { return nil }
            if bytes[index] == 0x0A { line += 1 }
            index += 1
        }
        guard index < bytes.count else { return nil }
        let start = line
        let recordStart = index
        func incomplete() -> Int? {
            index = recordStart
            line = start
            fields.removeAll(keepingCapacity: true)
            return nil
        }
        while true {
            if index < bytes.count, bytes[index] == UInt8(ascii: "\"") {
                guard let field = try quotedField(recordLine: start) else { return incomplete() }
                fields.append(field)
            } else {
                let begin = index
                while index < bytes.count, bytes[index] != UInt8(ascii: ","), bytes[index] != 0x0A, bytes[index] != 0x0D { index += 1 }
                fields.append(.input(begin..<index))
            }
            guard index < bytes.count else { return final ? start : incomplete() }
            switch bytes[index] {
            case UInt8(ascii: ","):
                index += 1
            case 0x0D:
                if index + 1 == bytes.count, !final { return incomplete() }
                index += 1
                if index < bytes.count, bytes[index] == 0x0A { index += 1 }
                line += 1
                return start
            default:  // LF
                index += 1
                line += 1
                return start
            }
        }
    }

    /// The bytes of a field read by ``next(into:)``, valid until the next call (and while the
    /// bytes the reader was made with are).
    func bytes(of field: Field) -> UnsafeRawBufferPointer {
        switch field {
        case .input(let range): UnsafeRawBufferPointer(rebasing: bytes[range])
        case .scratch(let range): UnsafeRawBufferPointer(rebasing: scratch.bytes[range])
        }
    }

    /// The bytes of a field read by ``next(into:)``.
    func withBytes<T>(of field: Field, _ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        try body(bytes(of: field))
    }

    /// A quoted field; `nil` when the bytes end inside it and are not final.
    private mutating func quotedField(recordLine: Int) throws(Malformed) -> Field? {
        index += 1
        let begin = index
        var copied: Int?  // where this field starts in `scratch`, once it needs a copy
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                if index + 1 == bytes.count, !final { return nil }  // `"` or `""`: the next block decides
                if index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "\"") {
                    // `""` is one quote: from here on the field is built in the scratch copy.
                    if copied == nil {
                        copied = scratch.count
                        scratch.append(UnsafeRawBufferPointer(rebasing: bytes[begin..<index]))
                    }
                    scratch.append(byte)
                    index += 2
                    continue
                }
                let end = index
                index += 1
                if index < bytes.count, ![UInt8(ascii: ","), 0x0A, 0x0D].contains(bytes[index]) {
                    throw Malformed(line: line, reason: "text after a closing quote")
                }
                if let copied { return .scratch(copied..<scratch.count) }
                return .input(begin..<end)
            }
            if byte == 0x0A { line += 1 }
            if copied != nil { scratch.append(byte) }
            index += 1
        }
        guard final else { return nil }
        throw Malformed(line: recordLine, reason: "a quoted field is never closed")
    }
}

/// The reader's scratch bytes, in memory of its own so that a field's pointer stays valid
/// until the next record (an array's could move as it grows, and cannot be lent out).
private final class ScratchBytes {
    private var storage = UnsafeMutableRawBufferPointer.allocate(byteCount: 256, alignment: 1)
    var count = 0

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: storage[..<count]) }

    deinit { storage.deallocate() }

    func append(_ more: UnsafeRawBufferPointer) {
        reserve(count + more.count)
        storage.baseAddress!.advanced(by: count).copyMemory(from: more.baseAddress!, byteCount: more.count)
        count += more.count
    }

    func append(_ byte: UInt8) {
        reserve(count + 1)
        storage[count] = byte
        count += 1
    }

    private func reserve(_ needed: Int) {
        guard needed > storage.count else { return }
        let larger = UnsafeMutableRawBufferPointer.allocate(byteCount: max(needed, storage.count * 2), alignment: 1)
        larger.baseAddress!.copyMemory(from: storage.baseAddress!, byteCount: count)
        storage.deallocate()
        storage = larger
    }
}
