/// Finds the byte ranges of the top-level elements of a JSON array without decoding them.
///
/// The gateway uses it to serve a snapshot as NDJSON (one chart object per line) and to merge
/// several producers' snapshots, from the bytes it relays, so numbers keep exactly the text the
/// producer wrote. It reads the bytes in place (no copy) in one pass.
public enum JSONArraySplitter {
    public enum SplitError: Error, Equatable {
        case notAnArray
        case notAnObject
        case unterminated
    }

    /// The ranges of each element of the array in `bytes`, white space around them excluded;
    /// offsets count from the collection's first byte.
    public static func elementRanges(in bytes: some RandomAccessCollection<UInt8>) throws -> [Range<Int>] {
        if let ranges = try bytes.withContiguousStorageIfAvailable({ try scan(UnsafeRawBufferPointer($0), open: UInt8(ascii: "[")) }) {
            return ranges
        }
        return try Array(bytes).withUnsafeBytes { try scan($0, open: UInt8(ascii: "[")) }
    }

    /// The members of the JSON object in `bytes`: each key (when it holds no escapes) and the
    /// range of its value, untouched.
    public static func members(in bytes: some RandomAccessCollection<UInt8>) throws -> [(key: String, value: Range<Int>)] {
        let array = Array(bytes)
        return try array.withUnsafeBytes { raw in
            try scan(raw, open: UInt8(ascii: "{")).map { range in
                // "key" : value
                guard raw[range.lowerBound] == UInt8(ascii: "\""),
                    let close = (range.lowerBound + 1..<range.upperBound).first(where: { raw[$0] == UInt8(ascii: "\"") }),
                    !raw[range.lowerBound + 1..<close].contains(UInt8(ascii: "\\"))
                else { throw SplitError.notAnObject }
                var index = close + 1
                while index < range.upperBound, isSpace(raw[index]) { index += 1 }
                guard index < range.upperBound, raw[index] == UInt8(ascii: ":") else { throw SplitError.notAnObject }
                index += 1
                while index < range.upperBound, isSpace(raw[index]) { index += 1 }
                guard index < range.upperBound else { throw SplitError.notAnObject }
                return (String(decoding: raw[range.lowerBound + 1..<close], as: UTF8.self), index..<range.upperBound)
            }
        }
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }

    /// The top-level elements of the array (`open` is `[`) or the members of the object (`{`).
    private static func scan(_ bytes: UnsafeRawBufferPointer, open: UInt8) throws -> [Range<Int>] {
        let count = bytes.count
        var index = 0
        while index < count, isSpace(bytes[index]) { index += 1 }
        guard index < count, bytes[index] == open else { throw open == UInt8(ascii: "[") ? SplitError.notAnArray : SplitError.notAnObject }
        index += 1
        var ranges: [Range<Int>] = []
        var depth = 0
        var start = -1
        while index < count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                if start < 0 { start = index }
                // Skip the string: only a backslash or the closing quote matter inside it.
                index += 1
                while index < count {
                    let inner = bytes[index]
                    if inner == UInt8(ascii: "\\") {
                        index += 1
                    } else if inner == UInt8(ascii: "\"") {
                        break
                    }
                    index += 1
                }
                guard index < count else { throw SplitError.unterminated }
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                if start < 0 { start = index }
            case UInt8(ascii: "]") where depth == 0 && open == UInt8(ascii: "["), UInt8(ascii: "}") where depth == 0 && open == UInt8(ascii: "{"):
                if start >= 0 { ranges.append(start..<trimmedEnd(bytes, start, index)) }
                return ranges
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
            case UInt8(ascii: ",") where depth == 0:
                if start >= 0 { ranges.append(start..<trimmedEnd(bytes, start, index)) }
                start = -1
            case 0x20, 0x0A, 0x0D, 0x09:
                break
            default:
                if start < 0 { start = index }
            }
            index += 1
        }
        throw SplitError.unterminated
    }

    private static func trimmedEnd(_ bytes: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> Int {
        var end = end
        while end > start, isSpace(bytes[end - 1]) { end -= 1 }
        return end
    }
}
