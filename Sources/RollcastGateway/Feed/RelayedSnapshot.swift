import Foundation
import NIOCore
import RollcastCore

/// A snapshot as the gateway holds it: the producer's header and the payload to relay.
///
/// `payload` is the exact JSON the producer encoded. It is one immutable `ByteBuffer`
/// shared by every client (copy-on-write, never written to), so fan-out copies nothing.
struct RelayedSnapshot: Sendable {
    let header: SnapshotHeader
    let payload: ByteBuffer
    /// The payload compressed once for `permessage-deflate` clients, when that is on.
    var deflated: ByteBuffer? = nil
    let receivedAt: ContinuousClock.Instant
    /// The delta stream's two messages for this snapshot (`rollcast.delta.v1`), each made once.
    var deltaStream: DeltaStreamFrames? = nil
    /// The producers whose charts the payload holds, in name order (one without a broker).
    let sources: [ProducerSource]

    /// Whether the payload holds run `runID` of some producer at `seq` or later.
    func holds(runID: String, seq: UInt64) -> Bool {
        sources.contains { $0.runID == runID && $0.seq >= seq }
    }
}

/// What a client of the delta stream may be sent for one snapshot: the full message always,
/// the delta only to a client that holds the snapshot `baseSeq` of the same run.
struct DeltaStreamFrames: Sendable {
    /// `{"kind":"full","seq":…,"run_id":…,"generated_at":…,"charts":[…]}`: the payload, wrapped.
    let full: ByteBuffer
    var fullDeflated: ByteBuffer? = nil
    /// The producer's delta, and the `seq` it applies to.
    let delta: ByteBuffer?
    var deltaDeflated: ByteBuffer? = nil
    let baseSeq: UInt64?

    /// The full message: the payload inside an object whose first keys route it.
    static func fullMessage(header: SnapshotHeader, payload: ByteBuffer) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(payload.readableBytes + 128)
        buffer.writeString(#"{"kind":"full","seq":\#(header.seq),"run_id":"#)
        buffer.writeString(JSONString.quoted(header.runID))
        buffer.writeString(#","generated_at":\#(header.generatedAt),"charts":"#)
        buffer.writeImmutableBuffer(payload)
        buffer.writeString("}")
        return buffer
    }
}

/// A string as a JSON string literal.
enum JSONString {
    static func quoted(_ string: String) -> String {
        var out = "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
