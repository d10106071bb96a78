import Logging
import NIOCore
import NIOWebSocket

/// Writes snapshots to one WebSocket connection, on the connection's own event loop.
///
/// The broadcaster hands each snapshot to every writer of an event loop in one hop
/// (``SnapshotBroadcaster/publish(_:)``); the writer writes the snapshot's shared, already
/// framed buffer, so fan-out needs no task per client and copies no payload. While the socket
/// is not writable the writer holds only the newest snapshot (latest wins) and sends it
/// when the socket drains; replaced snapshots are counted.
final class SnapshotWriter: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias InboundOut = WebSocketFrame
    typealias OutboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    let id: UInt64
    /// The client negotiated `permessage-deflate`: send the shared compressed payload.
    private let deflate: Bool
    /// The client asked for the delta stream (`rollcast.delta.v1`).
    private let deltaStream: Bool
    /// The charts the client gets (chosen, and allowed by its token); `nil` for every chart
    /// (the snapshot's own messages).
    private(set) var selection: ChartFilter?
    /// The run and `seq` of the last snapshot this client was sent: a delta goes out only on top of it.
    private var lastSent: (runID: String, seq: UInt64)?
    private let broadcaster: SnapshotBroadcaster
    private let logger: Logger
    private var context: ChannelHandlerContext?
    /// Below the frame encoder: every ``SharedFrame`` is encoded already.
    let outlet: SharedFrameOutlet
    private var pending: RelayedSnapshot?
    /// The channel's writability as its events told it: read per snapshot for every client, so
    /// kept here rather than asked of the channel (a load from another object per client).
    private var writable = true
    /// Set once a close frame went out: no data frame may follow it.
    private var closing = false
    private(set) var sent = 0
    private(set) var skipped = 0

    init(
        id: UInt64, deflate: Bool, deltaStream: Bool = false, selection: ChartFilter? = nil, outlet: SharedFrameOutlet, broadcaster: SnapshotBroadcaster,
        logger: Logger
    ) {
        self.id = id
        self.selection = selection
        self.outlet = outlet
        self.deflate = deflate
        self.deltaStream = deltaStream
        self.broadcaster = broadcaster
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        writable = context.channel.isWritable
        // Registering hands over the latest snapshot at once.
        broadcaster.register(NIOLoopBound(self, eventLoop: context.eventLoop), id: id, on: context.eventLoop)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        detach()
    }

    func channelInactive(context: ChannelHandlerContext) {
        detach()
        context.fireChannelInactive()
    }

    private func detach() {
        guard context != nil else { return }
        context = nil
        pending = nil
        broadcaster.unregister(id: id)
        logger.info("client disconnected", metadata: ["snapshots.sent": "\(sent)", "snapshots.skipped": "\(skipped)"])
    }

    /// Sends `snapshot` now if the socket can take it, else keeps it as the one pending.
    /// - Returns: the payload bytes written now; 0 when held or dropped.
    /// - Important: call on the channel's event loop.
    @discardableResult
    func offer(_ snapshot: RelayedSnapshot) -> Int {
        guard let context, !closing else { return 0 }
        if writable {
            return write(snapshot, context: context)
        } else {
            if pending != nil {
                skipped += 1
                broadcaster.countSkipped()
            }
            pending = snapshot
            return 0
        }
    }

    /// The client now watches `selection`: the latest snapshot goes to it at once, as a full
    /// message of the new selection (no delta is on a base it holds).
    func select(_ selection: ChartFilter) {
        self.selection = selection
        lastSent = nil
        pending = nil
        if let latest = broadcaster.latest { offer(latest) }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        writable = context.channel.isWritable
        if writable, let snapshot = pending {
            pending = nil
            let sent = write(snapshot, context: context)
            broadcaster.countRelayed(frames: 1, bytes: sent, generatedAtMilliseconds: snapshot.header.generatedAt)
        }
        context.fireChannelWritabilityChanged()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if unwrapOutboundIn(data).opcode == .connectionClose {
            closing = true
            pending = nil
        }
        context.write(data, promise: promise)
    }

    private func write(_ snapshot: RelayedSnapshot, context: ChannelHandlerContext) -> Int {
        let frame: SharedFrame
        if let selection {
            let messages = snapshot.selected.messages(for: selection)
            frame = deltaStream ? deltaStreamFrame(for: snapshot, frames: messages.deltaStream) : messages.full.frame(deflate: deflate)
        } else {
            frame = deltaStream ? deltaStreamFrame(for: snapshot, frames: snapshot.deltaStream) : snapshot.fullStream.frame(deflate: deflate)
        }
        // Also valid on a deflate connection: a message without RSV1 is not compressed.
        outlet.send(frame)
        sent += 1
        return frame.payloadBytes
    }

    /// The delta when this client holds its base (the previous snapshot of the same run, sent
    /// whole or rebuilt from deltas); otherwise the full message: a new client, one that
    /// skipped a snapshot while slow, a producer restart or a snapshot the gateway missed.
    private func deltaStreamFrame(for snapshot: RelayedSnapshot, frames: DeltaStreamFrames) -> SharedFrame {
        defer { lastSent = (snapshot.header.runID, snapshot.header.seq) }
        if let delta = frames.delta, let base = frames.baseSeq, let lastSent, lastSent.runID == snapshot.header.runID, lastSent.seq == base {
            return delta.frame(deflate: deflate)
        }
        return frames.full.frame(deflate: deflate)
    }
}
