import Foundation
import NIOCore
import RollcastCore

/// A snapshot as the gateway holds it: the producer's header, the payload, and the frames
/// every WebSocket client is sent.
///
/// `payload` is the exact JSON the producer encoded (the HTTP routes send it). The frames are
/// made once per snapshot and shared by every client (`ByteBuffer` is copy-on-write and never
/// written to), so fan-out copies nothing. A class: handing it to each of 10,000 writers is one
/// retain, not one per buffer and frame it holds.
final class RelayedSnapshot: Sendable {
    let header: SnapshotHeader
    let payload: ByteBuffer
    /// The full-state stream's message: the payload, framed (and compressed once when that is on).
    let fullStream: ClientFrames
    let receivedAt: ContinuousClock.Instant
    /// The delta stream's two messages for this snapshot (`rollcast.delta.v1`), each made once.
    let deltaStream: DeltaStreamFrames
    /// The producers whose charts the payload holds, in name order (one without a broker).
    let sources: [ProducerSource]
    /// The messages of clients that chose their symbols, composed per selection when first asked for.
    let selected: SelectedFrames

    init(
        header: SnapshotHeader, payload: ByteBuffer, fullStream: ClientFrames, receivedAt: ContinuousClock.Instant, deltaStream: DeltaStreamFrames,
        sources: [ProducerSource], delta: ByteBuffer? = nil
    ) {
        self.header = header
        self.payload = payload
        self.fullStream = fullStream
        self.receivedAt = receivedAt
        self.deltaStream = deltaStream
        self.sources = sources
        // A selection's messages are compressed when the snapshot's are (`--permessage-deflate`).
        selected = SelectedFrames(header: header, payload: payload, delta: delta, compress: fullStream.deflated != nil)
    }

    /// Whether the payload holds run `runID` of some producer at `seq` or later.
    func holds(runID: String, seq: UInt64) -> Bool {
        sources.contains { $0.runID == runID && $0.seq >= seq }
    }
}
