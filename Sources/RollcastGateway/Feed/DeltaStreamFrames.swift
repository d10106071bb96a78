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
    /// Whether the frames have a compressed form (`--permessage-deflate`).
    private let compress: Bool
    private let fullFrames: MadeOnce<ClientFrames>
    private let deltaFrames: MadeOnce<ClientFrames?>
    private let makeFull: @Sendable (Compression) -> ClientFrames
    private let makeDelta: @Sendable (Compression) -> ClientFrames?

    /// How the frames are compressed: with the subscriber's own deflater, one lent by a pool, or not.
    enum Compression {
        case deflater(SnapshotDeflater?)
        case pool(DeflaterPool?)
    }

    /// `{"kind":"full","seq":…,"run_id":…,"generated_at":…,"charts":[…]}`: the payload, wrapped.
    var full: ClientFrames { fullFrames.value(orMake: { makeFull(.pool(ownDeflater())) }) }
    /// The producer's delta on `baseSeq`.
    var delta: ClientFrames? { deltaFrames.value(orMake: { makeDelta(.pool(ownDeflater())) }) }

    /// The frames of `payload` and its `delta`, made when first asked for (compressed too when `compress`).
    init(header: SnapshotHeader, payload: ByteBuffer, delta: ByteBuffer?, compress: Bool) {
        baseSeq = header.deltaBaseSeq
        self.compress = compress
        fullFrames = MadeOnce()
        deltaFrames = MadeOnce()
        makeFull = { compression in ClientFrames(plain: Self.fullMessage(header: header, payload: payload), compression) }
        makeDelta = { compression in delta.map { ClientFrames(plain: SharedFrame(text: $0), compression) } }
    }

    /// Frames made by `full` and `delta` when first asked for, each on its own: a selection's
    /// delta clients, once connected, never need its full message.
    init(baseSeq: UInt64?, full: @escaping @Sendable () -> ClientFrames, delta: (@Sendable () -> ClientFrames)?) {
        self.baseSeq = baseSeq
        compress = false
        fullFrames = MadeOnce()
        deltaFrames = MadeOnce()
        makeFull = { _ in full() }
        makeDelta = { _ in delta?() }
    }

    /// Frames made already.
    init(full: ClientFrames, delta: ClientFrames?, baseSeq: UInt64?) {
        self.baseSeq = baseSeq
        compress = false
        fullFrames = MadeOnce(full)
        deltaFrames = MadeOnce(.some(delta))
        makeFull = { _ in full }
        makeDelta = { _ in delta }
    }

    /// Makes the frames now, if they are not made yet, compressing with the subscriber's own `deflater`.
    func make(using deflater: SnapshotDeflater?) {
        let compression = Compression.deflater(compress ? deflater : nil)
        _ = fullFrames.value(orMake: { makeFull(compression) })
        _ = deltaFrames.value(orMake: { makeDelta(compression) })
    }

    /// When compressing with no deflater given (an event loop's first delta client), one lent
    /// by the pool the selections use: making one costs about 300 KB of zlib state.
    private func ownDeflater() -> DeflaterPool? {
        compress ? SelectedFrames.sharedDeflaters : nil
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
///
/// Every client of a snapshot reads it (10,000 reads per snapshot, from every event loop at
/// once), so once made it is read without the lock: a flag published with release ordering
/// after the value is stored, read with acquire ordering before the value is. Only its making
/// takes the lock, so no one makes it twice.
final class MadeOnce<Value: Sendable>: @unchecked Sendable {
    private let lock = Mutex<Void>(())
    private let ready = Atomic<Bool>(false)
    /// Written once, under the lock, before `ready`; read only after `ready` is seen set.
    private var made: Value?

    init(_ value: Value? = nil) {
        made = value
        if value != nil { ready.store(true, ordering: .releasing) }
    }

    /// The value, made by `make` if it is not yet (under the lock: no one makes it twice).
    func value(orMake make: () -> Value) -> Value {
        if ready.load(ordering: .acquiring), let made { return made }
        return lock.withLock { _ in
            if let made { return made }
            let value = make()
            made = value
            ready.store(true, ordering: .releasing)
            return value
        }
    }
}
