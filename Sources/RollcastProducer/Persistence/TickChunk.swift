import Foundation

/// Ticks grouped by symbol, in the order they were applied, as one row of the journal stores
/// them: a compact little-endian blob, read back without a parser.
///
/// Layout: `UInt32` group count; per group a `UInt8` symbol length, the symbol's UTF-8 bytes,
/// a `UInt32` tick count, and per tick three `Float64`s (t, price, volume). 24 bytes a tick,
/// which makes reading a million ticks back a matter of milliseconds.
struct TickChunk: Equatable, Sendable {
    var groups: [(symbol: String, ticks: [Tick])]

    static func == (lhs: TickChunk, rhs: TickChunk) -> Bool {
        lhs.groups.count == rhs.groups.count && zip(lhs.groups, rhs.groups).allSatisfy { $0.symbol == $1.symbol && $0.ticks == $1.ticks }
    }

    var tickCount: Int { groups.reduce(0) { $0 + $1.ticks.count } }

    /// The newest tick time in the chunk: once the clock has left it a window behind, the
    /// whole chunk is out of every window.
    var newestTime: Double { groups.lazy.compactMap { $0.ticks.lazy.map(\.time).max() }.max() ?? 0 }

    func encoded() -> Data {
        var data = Data()
        data.reserveCapacity(4 + groups.reduce(0) { $0 + 5 + $1.symbol.utf8.count + $1.ticks.count * 24 })
        func append<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) } }
        append(UInt32(groups.count))
        for (symbol, ticks) in groups {
            append(UInt8(symbol.utf8.count))
            data.append(contentsOf: symbol.utf8)
            append(UInt32(ticks.count))
            for tick in ticks {
                append(tick.time.bitPattern)
                append(tick.price.bitPattern)
                append(tick.volume.bitPattern)
            }
        }
        return data
    }

    struct Damaged: Error {}

    /// Reads a blob written by ``encoded()``.
    /// - Throws: ``Damaged`` when the bytes do not hold a whole chunk.
    init(decoding bytes: UnsafeRawBufferPointer) throws(Damaged) {
        var groups: [(symbol: String, ticks: [Tick])] = []
        try Self.visit(bytes) { symbol, ticks in groups.append((symbol, Array(ticks))) }
        self.groups = groups
    }

    /// Walks the groups of a blob written by ``encoded()`` without building a chunk: the
    /// journal's read-back appends each group's ticks straight to its symbol's list.
    /// - Throws: ``Damaged`` when the bytes do not hold a whole chunk; `body` has then seen
    ///   the groups before the damage.
    static func visit(_ bytes: UnsafeRawBufferPointer, _ body: (String, EncodedTicks) -> Void) throws(Damaged) {
        var offset = 0
        func read<T: FixedWidthInteger>(_: T.Type) throws(Damaged) -> T {
            guard offset + MemoryLayout<T>.size <= bytes.count else { throw Damaged() }
            defer { offset += MemoryLayout<T>.size }
            return T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
        }
        let groupCount = Int(try read(UInt32.self))
        for _ in 0..<groupCount {
            let length = Int(try read(UInt8.self))
            guard offset + length <= bytes.count else { throw Damaged() }
            let symbol = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + length]), as: UTF8.self)
            offset += length
            let count = Int(try read(UInt32.self))
            guard count <= (bytes.count - offset) / 24 else { throw Damaged() }
            body(symbol, EncodedTicks(bytes: UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + count * 24])))
            offset += count * 24
        }
        guard offset == bytes.count else { throw Damaged() }
    }

    /// A group's ticks as stored: 24 bytes each, read in place.
    struct EncodedTicks: RandomAccessCollection {
        let bytes: UnsafeRawBufferPointer
        var startIndex: Int { 0 }
        var endIndex: Int { bytes.count / 24 }

        subscript(index: Int) -> Tick {
            let base = index * 24
            return Tick(
                time: Double(bitPattern: UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: base, as: UInt64.self))),
                price: Double(bitPattern: UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: base + 8, as: UInt64.self))),
                volume: Double(bitPattern: UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: base + 16, as: UInt64.self)))
            )
        }
    }

    init(groups: [(symbol: String, ticks: [Tick])]) {
        self.groups = groups
    }
}
