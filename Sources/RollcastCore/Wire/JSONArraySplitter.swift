/// Finds the byte ranges of the top-level elements of a JSON array without decoding them.
///
/// The gateway uses it to serve a snapshot as NDJSON (one chart object per line) from the
/// bytes it relays, so numbers keep exactly the text the producer wrote.
public enum JSONArraySplitter {
    public enum SplitError: Error, Equatable {
        case notAnArray
        case unterminated
    }

    /// The ranges of each element of the array in `bytes`, white space around them excluded.
    public static func elementRanges(in bytes: some RandomAccessCollection<UInt8>) throws -> [Range<Int>] {
        let bytes = Array(bytes)
        var index = 0
        func skipSpace() {
            while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x0A || bytes[index] == 0x0D || bytes[index] == 0x09 {
                index += 1
            }
        }
        skipSpace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: "[") else { throw SplitError.notAnArray }
        index += 1
        var ranges: [Range<Int>] = []
        var depth = 0
        var inString = false
        var start: Int?
        while index < bytes.count {
            let byte = bytes[index]
            if inString {
                if byte == UInt8(ascii: "\\") {
                    index += 1
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
            } else {
                switch byte {
                case UInt8(ascii: "\""):
                    inString = true
                    if start == nil { start = index }
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    depth += 1
                    if start == nil { start = index }
                case UInt8(ascii: "}"):
                    depth -= 1
                case UInt8(ascii: "]") where depth == 0:
                    if let start { ranges.append(start..<trimmedEnd(bytes, start, index)) }
                    return ranges
                case UInt8(ascii: "]"):
                    depth -= 1
                case UInt8(ascii: ",") where depth == 0:
                    if let start { ranges.append(start..<trimmedEnd(bytes, start, index)) }
                    start = nil
                case 0x20, 0x0A, 0x0D, 0x09:
                    break
                default:
                    if start == nil { start = index }
                }
            }
            index += 1
        }
        throw SplitError.unterminated
    }

    private static func trimmedEnd(_ bytes: [UInt8], _ start: Int, _ end: Int) -> Int {
        var end = end
        while end > start, [0x20, 0x0A, 0x0D, 0x09].contains(bytes[end - 1]) { end -= 1 }
        return end
    }
}
