import Foundation
import NIOCore
import RollcastCore

/// A batch of ticks cut into one batch per producer, each tick's bytes untouched.
///
/// Only the symbols are read here; each producer reads and checks its part as it reads any
/// batch, so a refusal names the same rule as with one producer. A body that cannot be cut
/// (not JSON, a tick without a string symbol, a field besides `ticks` and `batch_id`) is not
/// cut: it goes whole to one producer, whose refusal the client then gets.
struct IngestSplit {
    struct Part {
        /// The positions in the original batch of this part's ticks, in order.
        var indices: [Int] = []
        var ticks: [ByteBuffer] = []
    }

    /// The parts, by the key the caller grouped the symbols with, in order of first appearance.
    let parts: [(key: AnyHashable, part: Part)]
    /// The batch's `batch_id` value as sent (a JSON string), given to every part.
    let batchID: ByteBuffer?

    /// Cuts `body` by `group(symbol)`; `nil` when it cannot be cut.
    init?(body: ByteBuffer, group: (String) -> AnyHashable) {
        guard let members = try? JSONArraySplitter.members(in: body.readableBytesView) else { return nil }
        var ticksRange: Range<Int>?
        var batchID: ByteBuffer?
        for member in members {
            let value = body.getSlice(at: body.readerIndex + member.value.lowerBound, length: member.value.count)!
            switch member.key {
            case "ticks" where ticksRange == nil: ticksRange = member.value
            case "batch_id" where batchID == nil: batchID = value
            default: return nil
            }
        }
        guard let ticksRange else { return nil }
        let ticksValue = body.getSlice(at: body.readerIndex + ticksRange.lowerBound, length: ticksRange.count)!
        guard let ranges = try? JSONArraySplitter.elementRanges(in: ticksValue.readableBytesView), !ranges.isEmpty else { return nil }
        var order: [AnyHashable] = []
        var parts: [AnyHashable: Part] = [:]
        for (index, range) in ranges.enumerated() {
            let tick = ticksValue.readableBytesView[(ticksValue.readerIndex + range.lowerBound)...].prefix(range.count)
            guard let symbol = Self.symbol(of: tick) else { return nil }
            let key = group(symbol.trimmingCharacters(in: .whitespaces))
            if parts[key] == nil { order.append(key) }
            parts[key, default: Part()].indices.append(index)
            parts[key, default: Part()].ticks.append(ticksValue.getSlice(at: ticksValue.readerIndex + range.lowerBound, length: range.count)!)
        }
        self.parts = order.map { ($0, parts[$0]!) }
        self.batchID = batchID
    }

    /// The `symbol` of one tick's JSON object, read without reading the rest of it; `nil` when
    /// it has none, or two, or one that is not a string.
    static func symbol(of tick: some RandomAccessCollection<UInt8>) -> String? {
        guard let members = try? JSONArraySplitter.members(in: tick) else { return nil }
        let symbols = members.filter { $0.key == "symbol" }
        guard symbols.count == 1 else { return nil }
        let value = tick.dropFirst(symbols[0].value.lowerBound).prefix(symbols[0].value.count)
        guard value.first == UInt8(ascii: "\""), value.count >= 2, value.last == UInt8(ascii: "\"") else { return nil }
        let inner = value.dropFirst().dropLast()
        // Escapes are rare in a symbol (the rules allow none that need one): the JSON reader reads them.
        if !inner.contains(UInt8(ascii: "\\")) { return String(decoding: inner, as: UTF8.self) }
        return try? JSONDecoder().decode(String.self, from: Data(value))
    }

    /// The body a producer gets for `part`: its ticks as sent, and the batch's `batch_id`, so a
    /// retry of the whole batch is a duplicate wherever a part was applied.
    func body(of part: Part) -> [UInt8] {
        var body = ByteBuffer()
        body.writeString(#"{"ticks":["#)
        for (position, tick) in part.ticks.enumerated() {
            if position > 0 { body.writeString(",") }
            body.writeImmutableBuffer(tick)
        }
        body.writeString("]")
        if let batchID {
            body.writeString(#","batch_id":"#)
            body.writeImmutableBuffer(batchID)
        }
        body.writeString("}")
        return Array(buffer: body)
    }

    /// A producer's refusal of `part` with its tick positions (`ticks[3]`) turned back into the batch's.
    static func renumber(_ reason: String, part: Part) -> String {
        var out = ""
        var rest = Substring(reason)
        while let open = rest.range(of: "ticks[") {
            out += rest[..<open.upperBound]
            rest = rest[open.upperBound...]
            let digits = rest.prefix { $0.isNumber }
            if let index = Int(digits), part.indices.indices.contains(index) {
                out += String(part.indices[index])
                rest = rest.dropFirst(digits.count)
            }
        }
        return out + rest
    }
}
