/// Writes a `Double` as the shortest JSON number that reads back as the same `Double`.
///
/// Most values in a snapshot are prices in cents and times in milliseconds: decimals
/// with few digits. Those are written from an integer and a decimal point without
/// allocating; the rest fall back to Swift's shortest round-trip `description`.
enum JSONNumberWriter {
    private static let powersOfTen: [Double] = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000]
    /// Beyond 2^53 not every integer is a Double; the fast path stays below it.
    private static let exactIntegerLimit = 9_007_199_254_740_992.0

    /// The text ``write(_:to:)`` writes, for messages.
    static func string(_ value: Double) -> String {
        var bytes: [UInt8] = []
        write(value, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    static func write(_ value: Double, to output: inout [UInt8]) {
        guard value.isFinite else {
            // JSON has no infinity or NaN; a window never holds one, but never emit invalid JSON.
            output.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C])  // null
            return
        }
        for (decimals, power) in powersOfTen.enumerated() {
            let scaled = value * power
            guard abs(scaled) < exactIntegerLimit else { break }
            if scaled == scaled.rounded(.towardZero) {
                let mantissa = Int64(scaled)
                // Division by a power of ten rounds correctly, as a JSON reader does:
                // equal means this decimal text reads back as exactly `value`.
                if Double(mantissa) / power == value {
                    writeDecimal(mantissa, decimals: decimals, negativeZero: value.sign == .minus && mantissa == 0, to: &output)
                    return
                }
            }
        }
        output.append(contentsOf: value.description.utf8)
    }

    /// Writes `mantissa / 10^decimals` without trailing zeros.
    private static func writeDecimal(_ mantissa: Int64, decimals: Int, negativeZero: Bool, to output: inout [UInt8]) {
        if mantissa < 0 || negativeZero { output.append(UInt8(ascii: "-")) }
        var magnitude = mantissa.magnitude
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            repeat {
                buffer[count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                count += 1
            } while magnitude > 0
            // Digits are in reverse; pad so there is at least one before the point.
            while count <= decimals {
                buffer[count] = UInt8(ascii: "0")
                count += 1
            }
            // Drop trailing zeros of the fraction.
            var skip = 0
            while skip < decimals, buffer[skip] == UInt8(ascii: "0") { skip += 1 }
            var index = count - 1
            while index >= skip {
                if index == decimals - 1 { output.append(UInt8(ascii: ".")) }
                output.append(buffer[index])
                index -= 1
            }
        }
    }
}
