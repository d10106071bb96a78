import NIOCore
import RollcastCore

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
