import NIOCore
import RollcastCore
import Synchronization

/// What a client of the delta stream may be sent for one snapshot: the full message always,
/// the delta only to a client that holds the snapshot `baseSeq` of the same run.
///
/// The frames are made when a delta client first takes them, once for all (the full message
/// copies the whole payload): a gateway without delta clients makes none. The subscriber makes
/// them at once while delta clients are connected, so that no event loop waits for them.
struct DeltaStreamFrames: Sendable {
    let baseSeq: UInt64?
    private let header: SnapshotHeader?
    private let payload: ByteBuffer
    private let producerDelta: ByteBuffer?
    /// Whether the frames have a compressed form (`--permessage-deflate`).
    private let compress: Bool
    private let frames: MadeOnce<(full: ClientFrames, delta: ClientFrames?)>

    /// `{"kind":"full","seq":…,"run_id":…,"generated_at":…,"charts":[…]}`: the payload, wrapped.
    var full: ClientFrames { made(using: nil).full }
    /// The producer's delta on `baseSeq`.
    var delta: ClientFrames? { made(using: nil).delta }

    /// The frames of `payload` and its `delta`, made when first asked for (compressed too when `compress`).
    init(header: SnapshotHeader, payload: ByteBuffer, delta: ByteBuffer?, compress: Bool) {
        baseSeq = header.deltaBaseSeq
        self.header = header
        self.payload = payload
        producerDelta = delta
        self.compress = compress
        frames = MadeOnce()
    }

    /// Frames made already.
    init(full: ClientFrames, delta: ClientFrames?, baseSeq: UInt64?) {
        self.baseSeq = baseSeq
        header = nil
        payload = ByteBuffer()
        producerDelta = nil
        compress = false
        frames = MadeOnce((full, delta))
    }

    /// Makes the frames now, if they are not made yet, compressing with the subscriber's own `deflater`.
    func make(using deflater: SnapshotDeflater?) { _ = made(using: deflater) }

    /// The frames; made here if no one made them yet, with `deflater` or, when compressing
    /// without one (an event loop's first delta client), a deflater of their own.
    private func made(using deflater: SnapshotDeflater?) -> (full: ClientFrames, delta: ClientFrames?) {
        frames.value(orMake: { [header, payload, producerDelta, compress] in
            let deflater = compress ? deflater ?? (try? SnapshotDeflater()) : nil
            return (
                ClientFrames(plain: Self.fullMessage(header: header!, payload: payload), deflater: deflater),
                producerDelta.map { ClientFrames($0, deflater: deflater) }
            )
        })
    }

    /// The full message framed: the payload inside an object whose first keys route it.
    static func fullMessage(header: SnapshotHeader, payload: ByteBuffer) -> SharedFrame {
        fullMessage(header: header, charts: [payload])
    }

    /// The same around an array given in parts (a selection's charts).
    static func fullMessage(header: SnapshotHeader, charts: [ByteBuffer]) -> SharedFrame {
        let head = #"{"kind":"full","seq":\#(header.seq),"run_id":\#(JSONString.quoted(header.runID)),"generated_at":\#(header.generatedAt),"charts":"#
        return SharedFrame(text: [ByteBuffer(string: head)] + charts + [ByteBuffer(string: "}")])
    }
}

/// A value made by the first who asks for it, on whichever thread that is; the others get the same.
final class MadeOnce<Value: Sendable>: Sendable {
    private let made: Mutex<Value?>

    init(_ value: Value? = nil) {
        made = Mutex(value)
    }

    /// The value, made by `make` if it is not yet (under the lock: no one makes it twice).
    func value(orMake make: () -> Value) -> Value {
        made.withLock { made in
            if let made { return made }
            let value = make()
            made = value
            return value
        }
    }
}
