import Foundation
import NIOCore

/// The message the comparison relays send (the floor, Nchan): exactly `bytes` long, with the
/// `seq` and `generated_at` the load client reads from a Rollcast message's first bytes, and
/// padding for the rest, so every relay carries the same bytes per client.
enum RelayMessage {
    /// `{"kind":"delta","seq":N,"generated_at":T,"pad":"xxx…"}`, `bytes` long (at least its fields).
    static func make(seq: UInt64, bytes: Int) -> ByteBuffer {
        let head = #"{"kind":"delta","seq":\#(seq),"generated_at":\#(Int64(unixMilliseconds())),"pad":""#
        let tail = #""}"#
        let padding = max(0, bytes - head.utf8.count - tail.utf8.count)
        var buffer = ByteBuffer()
        buffer.reserveCapacity(head.utf8.count + padding + tail.utf8.count)
        buffer.writeString(head)
        buffer.writeRepeatingByte(UInt8(ascii: "x"), count: padding)
        buffer.writeString(tail)
        return buffer
    }

    /// `payload` as one unmasked WebSocket text frame, header and payload in one buffer.
    static func frame(_ payload: ByteBuffer) -> ByteBuffer {
        var frame = ByteBuffer()
        frame.reserveCapacity(payload.readableBytes + 10)
        frame.writeInteger(UInt8(0x81))
        switch payload.readableBytes {
        case ..<126:
            frame.writeInteger(UInt8(payload.readableBytes))
        case ...Int(UInt16.max):
            frame.writeInteger(UInt8(126))
            frame.writeInteger(UInt16(payload.readableBytes))
        default:
            frame.writeInteger(UInt8(127))
            frame.writeInteger(UInt64(payload.readableBytes))
        }
        frame.writeImmutableBuffer(payload)
        return frame
    }
}
