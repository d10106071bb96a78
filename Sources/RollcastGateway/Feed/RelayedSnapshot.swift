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
}
