import Foundation

/// Decimal numbers as text → `Double`, correctly rounded, without allocating.
///
/// Shared by the batch reader (JSON) and the CSV replay: most numbers in ticks are prices and
/// times with few digits, which one exact multiplication or division converts (both operands
/// are exact doubles: a mantissa below 2^53 and a power of ten up to 10^22); the rest go to
/// `strtod`, which rounds correctly too.
enum DecimalText {
    private static let powersOfTen: [Double] = (0...22).map { Foundation.pow(10, Double($0)) }

    /// The value of `text` if it is `[+-]digits[.digits][(e|E)[+-]digits]` (a fraction may
    /// also start with the point: `.5`); `nil` for anything else. `NaN` and `inf` spelled out
    /// read as such, so the tick rules can name them.
    static func parse(_ text: UnsafeRawBufferPointer) -> Double? {
        var index = 0
        let count = text.count
        guard count > 0 else { return nil }
        var negative = false
        if text[0] == UInt8(ascii: "-") || text[0] == UInt8(ascii: "+") {
            negative = text[0] == UInt8(ascii: "-")
            index = 1
        }
        var mantissa: UInt64 = 0
        var significant = 0
        var exponent = 0
        var exact = true
        var digits = 0
        func digit(_ byte: UInt8, afterPoint: Bool) {
            let value = UInt64(byte &- UInt8(ascii: "0"))
            digits += 1
            if significant == 0, value == 0 {
                if afterPoint { exponent -= 1 }
                return
            }
            if significant < 19 {
                mantissa = mantissa * 10 + value
                significant += 1
                if afterPoint { exponent -= 1 }
            } else {
                if value != 0 { exact = false }
                if !afterPoint { exponent += 1 }
            }
        }
        while index < count, isDigit(text[index]) {
            digit(text[index], afterPoint: false)
            index += 1
        }
        if index < count, text[index] == UInt8(ascii: ".") {
            index += 1
            while index < count, isDigit(text[index]) {
                digit(text[index], afterPoint: true)
                index += 1
            }
        }
        guard digits > 0 else { return nonFinite(text) }
        if index < count, text[index] == UInt8(ascii: "e") || text[index] == UInt8(ascii: "E") {
            index += 1
            var negativeExponent = false
            if index < count, text[index] == UInt8(ascii: "-") || text[index] == UInt8(ascii: "+") {
                negativeExponent = text[index] == UInt8(ascii: "-")
                index += 1
            }
            guard index < count, isDigit(text[index]) else { return nil }
            var value = 0
            while index < count, isDigit(text[index]) {
                value = min(value * 10 + Int(text[index] - UInt8(ascii: "0")), 100_000)
                index += 1
            }
            exponent += negativeExponent ? -value : value
        }
        guard index == count else { return nil }
        if exact, mantissa < 1 << 53, (-22...22).contains(exponent) {
            let magnitude = exponent < 0 ? Double(mantissa) / powersOfTen[-exponent] : Double(mantissa) * powersOfTen[exponent]
            return negative ? -magnitude : magnitude
        }
        var terminated = Array(text)
        terminated.append(0)
        return terminated.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { Foundation.strtod($0.baseAddress!, nil) }
        }
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    /// `NaN`, `inf`, `Infinity` in any case, with a sign: what spreadsheets and Python write.
    private static func nonFinite(_ text: UnsafeRawBufferPointer) -> Double? {
        var word = String(decoding: text, as: UTF8.self).lowercased()
        var sign = 1.0
        if word.hasPrefix("-") || word.hasPrefix("+") {
            sign = word.hasPrefix("-") ? -1 : 1
            word.removeFirst()
        }
        switch word {
        case "nan": return .nan
        case "inf", "infinity": return sign * .infinity
        default: return nil
        }
    }
}
