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
final class SnapshotWriter: ChannelDuplexHandler, RemovableChannelHandler, SnapshotReceiver {
    typealias InboundIn = WebSocketFrame
    typealias InboundOut = WebSocketFrame
    typealias OutboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    let id: UInt64
    /// The client negotiated `permessage-deflate`: send the shared compressed payload.
    private let deflate: Bool
    /// The stream it asked for (`rollcast.delta.v1` or not), the charts it watches, what it holds.
    private var stream: ClientStream
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
        stream = ClientStream(deltaStream: deltaStream, selection: selection)
        self.outlet = outlet
        self.deflate = deflate
        self.broadcaster = broadcaster
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        writable = context.channel.isWritable
        // Registering hands over the latest snapshot at once.
        broadcaster.register(NIOLoopBound<any SnapshotReceiver>(self, eventLoop: context.eventLoop), id: id, on: context.eventLoop)
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
        stream.select(selection)
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
        guard let message = stream.message(for: snapshot) else { return 0 }
        let frame = message.frames.frame(deflate: deflate)
        // Also valid on a deflate connection: a message without RSV1 is not compressed.
        outlet.send(frame)
        sent += 1
        return frame.payloadBytes
    }
}
