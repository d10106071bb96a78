import Foundation
import RollcastCore

/// Reads a ``TickBatch`` from JSON bytes, strictly, checking each tick as it goes.
///
/// Written by hand for speed: Foundation's `JSONDecoder` reads about 0.4 M ticks/s on the
/// build machine, under the 1 M ticks/s the ingest socket must carry (`rollcast-bench ingest`
/// compares the two). It accepts exactly the JSON grammar (RFC 8259) and the batch's schema:
/// unknown fields, wrong types and missing fields are refused by name, and every number is
/// converted with correct rounding (``DecimalText``): bit for bit what Swift's `Double(String)`
/// makes of the same text.
struct TickBatchReader {
    private let bytes: UnsafeRawBufferPointer
    private let rules: TickRules
    private let now: Double
    private var index = 0

    init(bytes: UnsafeRawBufferPointer, rules: TickRules, now: Double) {
        self.bytes = bytes
        self.rules = rules
        self.now = now
    }

    mutating func readBatch() throws(RequestError) -> TickBatch {
        var ticks: [IncomingTick]?
        var batchID: String?
        var hasBatchID = false
        skipSpace()
        try expect(UInt8(ascii: "{"), "a JSON object")
        try readMembers { (key, reader) throws(RequestError) in
            switch key {
            case "ticks":
                guard ticks == nil else { throw .invalid("field 'ticks' is given twice") }
                ticks = try reader.readTicks()
            case "batch_id":
                guard !hasBatchID else { throw .invalid("field 'batch_id' is given twice") }
                hasBatchID = true
                batchID = try reader.readBatchID()
            default:
                throw .invalid("unknown field '\(key)'; expected ticks, batch_id")
            }
        }
        skipSpace()
        guard index == bytes.count else { throw syntax("unexpected text after the batch") }
        guard let ticks else { throw .invalid("missing field 'ticks'") }
        guard !ticks.isEmpty else { throw .invalid("ticks must not be empty") }
        return TickBatch(ticks: ticks, batchID: batchID)
    }

    // MARK: The batch's fields

    private mutating func readTicks() throws(RequestError) -> [IncomingTick] {
        guard peek() == UInt8(ascii: "[") else { throw wrongType("'ticks'", "a list") }
        index += 1
        var ticks: [IncomingTick] = []
        // About 60 bytes per tick: reserve once for the common case.
        ticks.reserveCapacity(min(TickBatch.maxTicks, bytes.count / 40 + 1))
        skipSpace()
        if peek() == UInt8(ascii: "]") {
            index += 1
            return ticks
        }
        while true {
            guard ticks.count < TickBatch.maxTicks else { throw .invalid("at most \(TickBatch.maxTicks) ticks per batch") }
            ticks.append(try readTick(ticks.count))
            skipSpace()
            switch peek() {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "]"):
                index += 1
                return ticks
            default: throw syntax("expected ',' or ']' after ticks[\(ticks.count - 1)]")
            }
        }
    }

    private mutating func readTick(_ position: Int) throws(RequestError) -> IncomingTick {
        // Built only for a message: most ticks never need it.
        func path(_ field: String = "") -> String { "ticks[\(position)]" + (field.isEmpty ? "" : ".\(field)") }
        skipSpace()
        guard peek() == UInt8(ascii: "{") else { throw wrongType("'\(path())'", "an object") }
        index += 1
        var symbol: String?
        var t: Double?
        var price: Double?
        var volume: Double?
        try readMembers { (key, reader) throws(RequestError) in
            switch key {
            case "symbol":
                guard symbol == nil else { throw .invalid("\(path("symbol")) is given twice") }
                guard reader.peek() == UInt8(ascii: "\"") else { throw reader.wrongType("'\(path("symbol"))'", "a string") }
                do throws(RequestError) {
                    symbol = try reader.readString { bytes throws(RequestError) in try Symbol.validated(utf8: bytes) }
                } catch {
                    throw .invalid("\(path()).\(error)")
                }
            case "t":
                guard t == nil else { throw .invalid("\(path("t")) is given twice") }
                t = try reader.readNumber { path("t") }
            case "price":
                guard price == nil else { throw .invalid("\(path("price")) is given twice") }
                price = try reader.readNumber { path("price") }
            case "volume":
                guard volume == nil else { throw .invalid("\(path("volume")) is given twice") }
                volume = try reader.readNumber { path("volume") }
            default:
                throw .invalid("\(path()) has an unknown field '\(key)'; expected symbol, t, price, volume")
            }
        }
        guard let symbol else { throw .invalid("missing field 'symbol' in '\(path())'") }
        guard let t else { throw .invalid("missing field 't' in '\(path())'") }
        guard let price else { throw .invalid("missing field 'price' in '\(path())'") }
        let tick = IncomingTick(symbol: symbol, t: t, price: price, volume: volume ?? 0)
        if let reason = rules.violation(t: tick.t, price: tick.price, volume: tick.volume, now: now) {
            throw .invalid("\(path()).\(reason)")
        }
        return tick
    }

    private mutating func readBatchID() throws(RequestError) -> String? {
        if try readNull() { return nil }
        guard peek() == UInt8(ascii: "\"") else { throw wrongType("'batch_id'", "a string") }
        return try readString { bytes throws(RequestError) in
            guard (1...TickBatch.maxBatchIDLength).contains(bytes.count), bytes.allSatisfy({ (0x21...0x7E).contains($0) }) else {
                throw .invalid("batch_id must be 1 to \(TickBatch.maxBatchIDLength) characters of printable ASCII, without spaces")
            }
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    // MARK: JSON

    /// Reads `"key": value` pairs up to the closing brace; `readValue` reads each value.
    private mutating func readMembers(_ readValue: (String, inout TickBatchReader) throws(RequestError) -> Void) throws(RequestError) {
        skipSpace()
        if peek() == UInt8(ascii: "}") {
            index += 1
            return
        }
        while true {
            skipSpace()
            guard peek() == UInt8(ascii: "\"") else { throw syntax("expected a field name") }
            let key = try readString { bytes in String(decoding: bytes.prefix(40), as: UTF8.self) }
            skipSpace()
            try expect(UInt8(ascii: ":"), "':'")
            skipSpace()
            try readValue(key, &self)
            skipSpace()
            switch peek() {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "}"):
                index += 1
                return
            default: throw syntax("expected ',' or '}'")
            }
        }
    }

    /// Reads a string at the cursor (which is on its opening quote) and hands its UTF-8 bytes,
    /// escapes resolved, to `make`.
    private mutating func readString<T>(_ make: (UnsafeRawBufferPointer) throws(RequestError) -> T) throws(RequestError) -> T {
        index += 1
        let start = index
        // Fast path: no escapes, so the bytes can be handed over where they lie.
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let value = try make(UnsafeRawBufferPointer(rebasing: bytes[start..<index]))
                index += 1
                return value
            }
            if byte == UInt8(ascii: "\\") { break }
            guard byte >= 0x20 else { throw syntax("control character in a string") }
            index += 1
        }
        var unescaped = Array(bytes[start..<index])
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                return try unescaped.withUnsafeBytes { buffer in Result { () throws(RequestError) in try make(buffer) } }.get()
            case UInt8(ascii: "\\"):
                try readEscape(into: &unescaped)
            case ..<0x20:
                index -= 1
                throw syntax("control character in a string")
            default:
                unescaped.append(byte)
            }
        }
        throw syntax("unterminated string")
    }

    private mutating func readEscape(into output: inout [UInt8]) throws(RequestError) {
        guard index < bytes.count else { throw syntax("unterminated string") }
        let byte = bytes[index]
        index += 1
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): output.append(byte)
        case UInt8(ascii: "b"): output.append(0x08)
        case UInt8(ascii: "f"): output.append(0x0C)
        case UInt8(ascii: "n"): output.append(0x0A)
        case UInt8(ascii: "r"): output.append(0x0D)
        case UInt8(ascii: "t"): output.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try readHex4()
            if (0xD800..<0xDC00).contains(scalar) {
                // A high surrogate must be followed by its low half.
                guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                    throw syntax("unpaired surrogate in a string")
                }
                index += 2
                let low = try readHex4()
                guard (0xDC00..<0xE000).contains(low) else { throw syntax("unpaired surrogate in a string") }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00..<0xE000).contains(scalar) {
                throw syntax("unpaired surrogate in a string")
            }
            output.append(contentsOf: String(Character(Unicode.Scalar(scalar)!)).utf8)
        default:
            index -= 1
            throw syntax("invalid escape in a string")
        }
    }

    private mutating func readHex4() throws(RequestError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw syntax("unterminated string") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw syntax("invalid \\u escape")
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }

    /// Reads a JSON number; anything else is a type error naming `path()`.
    private mutating func readNumber(_ path: () -> String) throws(RequestError) -> Double {
        let start = index
        if peek() == UInt8(ascii: "-") { index += 1 }
        guard let first = peek(), isDigit(first) else {
            index = start
            if peek() == UInt8(ascii: "n") { throw .invalid("'\(path())' must be a number, not null") }
            throw wrongType("'\(path())'", "a number")
        }
        // The grammar: an integer without leading zeros, an optional fraction, an optional exponent.
        if first == UInt8(ascii: "0") {
            index += 1
        } else {
            while let byte = peek(), isDigit(byte) { index += 1 }
        }
        if peek() == UInt8(ascii: ".") {
            index += 1
            guard let byte = peek(), isDigit(byte) else { throw syntax("expected a digit after '.'") }
            while let byte = peek(), isDigit(byte) { index += 1 }
        }
        if let marker = peek(), marker == UInt8(ascii: "e") || marker == UInt8(ascii: "E") {
            index += 1
            if let sign = peek(), sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") { index += 1 }
            guard let byte = peek(), isDigit(byte) else { throw syntax("expected a digit in an exponent") }
            while let byte = peek(), isDigit(byte) { index += 1 }
        }
        // The text is a JSON number, which DecimalText reads.
        return DecimalText.parse(UnsafeRawBufferPointer(rebasing: bytes[start..<index]))!
    }

    private mutating func readNull() throws(RequestError) -> Bool {
        guard peek() == UInt8(ascii: "n") else { return false }
        guard index + 4 <= bytes.count, bytes[index + 1] == UInt8(ascii: "u"), bytes[index + 2] == UInt8(ascii: "l"),
            bytes[index + 3] == UInt8(ascii: "l")
        else { throw syntax("unexpected 'n'") }
        index += 4
        return true
    }

    private func peek() -> UInt8? {
        index < bytes.count ? bytes[index] : nil
    }

    private func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    private mutating func skipSpace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    private mutating func expect(_ byte: UInt8, _ what: String) throws(RequestError) {
        guard peek() == byte else { throw syntax("expected \(what)") }
        index += 1
    }

    /// A type error where the JSON itself is sound: `'ticks[0].price' must be a number`.
    /// Malformed JSON at the same place is reported as such.
    private func wrongType(_ path: String, _ expected: String) -> RequestError {
        guard let byte = peek() else { return syntax("expected a value") }
        let next = index + 1 < bytes.count ? bytes[index + 1] : 0
        let nonFinite = byte == UInt8(ascii: "N") || byte == UInt8(ascii: "I") || (byte == UInt8(ascii: "-") && next == UInt8(ascii: "I"))
        if nonFinite, expected == "a number" {
            // What Python's json.dumps writes for float('nan') and float('inf').
            return .invalid("\(path) must be a finite number; NaN and Infinity are not JSON")
        }
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "{"), UInt8(ascii: "["), UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"),
            UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return .invalid("\(path) must be \(expected)")
        default:
            return syntax("expected a value")
        }
    }

    private func syntax(_ what: String) -> RequestError {
        guard index < bytes.count else { return .invalid("body is not valid JSON: it ends early (\(what))") }
        let byte = bytes[index]
        let shown = (0x21...0x7E).contains(byte) ? "'\(Character(Unicode.Scalar(byte)))'" : String(format: "byte 0x%02X", byte)
        return .invalid("body is not valid JSON: \(what), found \(shown) at byte \(index)")
    }
}
