import Foundation
import NIOCore
import RollcastCore

/// A snapshot as the gateway holds it: the producer's header, the payload, and the frames
/// every WebSocket client is sent.
///
/// `payload` is the exact JSON the producer encoded (the HTTP routes send it). The frames are
/// made once per snapshot and shared by every client (`ByteBuffer` is copy-on-write and never
/// written to), so fan-out copies nothing.
struct RelayedSnapshot: Sendable {
    let header: SnapshotHeader
    let payload: ByteBuffer
    /// The full-state stream's message: the payload, framed (and compressed once when that is on).
    let fullStream: ClientFrames
    let receivedAt: ContinuousClock.Instant
    /// The delta stream's two messages for this snapshot (`rollcast.delta.v1`), each made once.
    let deltaStream: DeltaStreamFrames
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
    let full: ClientFrames
    /// The producer's delta, and the `seq` it applies to.
    let delta: ClientFrames?
    let baseSeq: UInt64?

    /// The full message framed: the payload inside an object whose first keys route it.
    static func fullMessage(header: SnapshotHeader, payload: ByteBuffer) -> SharedFrame {
        let head = #"{"kind":"full","seq":\#(header.seq),"run_id":\#(JSONString.quoted(header.runID)),"generated_at":\#(header.generatedAt),"charts":"#
        return SharedFrame(text: ByteBuffer(string: head), payload, ByteBuffer(string: "}"))
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
