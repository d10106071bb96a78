/// Rules for symbol names, shared by every way data comes in.
public enum Symbol {
    /// Longest symbol, in UTF-8 bytes.
    public static let maxLength = 32

    /// Returns the symbol with surrounding white space removed.
    /// - Throws: ``RequestError/invalid(_:)`` if it is empty, too long, or has characters
    ///   other than letters, digits and `. _ - : /`.
    public static func validated(_ raw: String) throws(RequestError) -> String {
        var raw = raw
        return try raw.withUTF8 { utf8 in
            Result { () throws(RequestError) in try validated(utf8: UnsafeRawBufferPointer(utf8)) }
        }.get()
    }

    /// The same rules on UTF-8 bytes, for readers that have not made a `String` yet.
    public static func validated(utf8 bytes: UnsafeRawBufferPointer) throws(RequestError) -> String {
        var start = 0
        var end = bytes.count
        while start < end, isSpace(bytes[start]) { start += 1 }
        while end > start, isSpace(bytes[end - 1]) { end -= 1 }
        let symbol = UnsafeRawBufferPointer(rebasing: bytes[start..<end])
        guard !symbol.isEmpty else { throw .invalid("symbol must not be empty") }
        guard symbol.count <= maxLength else {
            throw .invalid("symbol '\(String(decoding: symbol.prefix(40), as: UTF8.self))' is longer than \(maxLength) bytes")
        }
        guard symbol.allSatisfy(isAllowed) else {
            throw .invalid("symbol '\(String(decoding: symbol, as: UTF8.self))' may hold only letters, digits and . _ - : /")
        }
        return String(decoding: symbol, as: UTF8.self)
    }

    private static func isAllowed(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        case UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: ":"), UInt8(ascii: "/"): true
        default: false
        }
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || (0x09...0x0D).contains(byte)
    }
}
