import NIOCore

/// One WebSocket text frame as a server sends it, header and payload in one buffer, made once
/// per snapshot and written as is to every client that gets it.
///
/// Written below NIO's frame encoder (``SnapshotWriter``), a client's write is one shared
/// buffer: no frame to box, no header buffer to allocate and no second `iovec` per client.
struct SharedFrame: Sendable {
    /// Header and payload: the bytes on the wire.
    let bytes: ByteBuffer
    /// Bytes of the payload alone (what the metrics count).
    let payloadBytes: Int

    /// A text frame carrying `parts` one after the other, with RSV1 set when `compressed`
    /// (a `permessage-deflate` message).
    init(text parts: ByteBuffer..., compressed: Bool = false) {
        self.init(text: parts, compressed: compressed)
    }

    /// A text frame carrying `parts` one after the other.
    init(text parts: [ByteBuffer], compressed: Bool = false) {
        let length = parts.reduce(0) { $0 + $1.readableBytes }
        var bytes = Self.header(length: length, compressed: compressed)
        for part in parts { bytes.writeImmutableBuffer(part) }
        self.bytes = bytes
        self.payloadBytes = length
    }

    /// A text frame carrying a copy of `payload`: the one copy out of a received message.
    init(text payload: UnsafeRawBufferPointer) {
        var bytes = Self.header(length: payload.count, compressed: false)
        bytes.writeBytes(payload)
        self.bytes = bytes
        self.payloadBytes = payload.count
    }

    /// A buffer holding a text frame's header for `length` bytes of payload, with room for them.
    private static func header(length: Int, compressed: Bool) -> ByteBuffer {
        var bytes = ByteBuffer()
        bytes.reserveCapacity(length + 10)
        // FIN, RSV1 when compressed, opcode 1 (text); a server's frames are not masked.
        bytes.writeInteger(UInt8(compressed ? 0xC1 : 0x81))
        switch length {
        case ..<126:
            bytes.writeInteger(UInt8(length))
        case ...Int(UInt16.max):
            bytes.writeInteger(UInt8(126))
            bytes.writeInteger(UInt16(length))
        default:
            bytes.writeInteger(UInt8(127))
            bytes.writeInteger(UInt64(length))
        }
        return bytes
    }

    /// Whether `buffer` is this frame's payload itself (the same bytes in memory, not a copy).
    func carries(_ buffer: ByteBuffer) -> Bool {
        guard buffer.readableBytes == payloadBytes, payloadBytes > 0 else { return false }
        // Addresses compared only, never read through: both buffers are alive here.
        let headerBytes = bytes.readableBytes - payloadBytes
        let mine = bytes.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) + UInt(headerBytes) }
        return buffer.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) } == mine
    }

    /// The payload, sharing the frame's storage.
    var payload: ByteBuffer {
        bytes.getSlice(at: bytes.readerIndex + bytes.readableBytes - payloadBytes, length: payloadBytes)!
    }
}

/// A message framed for the clients that asked for compression and for those that did not,
/// and, when an event-stream client first takes it, as a Server-Sent Event.
struct ClientFrames: Sendable {
    let plain: SharedFrame
    /// The same message compressed once (`permessage-deflate`), when compression is on.
    let deflated: SharedFrame?
    /// Made by the first SSE client that takes the message: none without SSE clients.
    private let event = MadeOnce<ServerSentEvent>()

    /// Frames `payload`, and its compressed form when `deflater` is given.
    init(_ payload: ByteBuffer, deflater: SnapshotDeflater?) {
        self.init(plain: SharedFrame(text: payload), deflater: deflater)
    }

    /// Frames `payload`, reusing `received` (the frame it was received into) when `payload` is
    /// its payload as it came, unmerged: then framing it copies nothing.
    init(_ payload: ByteBuffer, receivedAs received: SharedFrame, deflater: SnapshotDeflater?) {
        self.init(plain: received.carries(payload) ? received : SharedFrame(text: payload), deflater: deflater)
    }

    init(plain: SharedFrame, deflater: SnapshotDeflater?) {
        self.plain = plain
        self.deflated = deflater.flatMap { $0.deflate(plain.payload) }.map { SharedFrame(text: $0, compressed: true) }
    }

    /// Frames `plain`, compressed as `compression` says.
    init(plain: SharedFrame, _ compression: DeltaStreamFrames.Compression) {
        switch compression {
        case .deflater(let deflater): self.init(plain: plain, deflater: deflater)
        case .pool(let pool): self.init(plain: plain, pool: pool)
        }
    }

    /// Frames `plain`, and its compressed form with a deflater of `pool` when one is given.
    init(plain: SharedFrame, pool: DeflaterPool?) {
        self.plain = plain
        self.deflated = pool.flatMap { $0.deflate(plain.payload) }.map { SharedFrame(text: $0, compressed: true) }
    }

    /// The message as the event `name` with `id`; every client of a message gives the same
    /// name and id (those of the snapshot it belongs to).
    /// `id` is read only by the first client (the others take the event made).
    func event(name: String, id: @autoclosure () -> String) -> ServerSentEvent {
        event.value(orMake: { ServerSentEvent(name: name, id: id(), data: plain.payload) })
    }

    /// The frame for a client that negotiated `permessage-deflate` (`deflate`) or not.
    func frame(deflate: Bool) -> SharedFrame {
        deflate ? deflated ?? plain : plain
    }
}
