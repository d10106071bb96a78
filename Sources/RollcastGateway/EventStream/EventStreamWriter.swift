import Logging
import NIOCore

/// Serves one Server-Sent Events client (`/sse/realtime_charts`), on its event loop: the
/// response head, then the same messages as the WebSocket streams as events, a keep-alive
/// comment when nothing else was sent for ``keepAliveInterval``, and the end of the stream at
/// shutdown or when its token expires. The keep-alive comes from the event loop's
/// ``ClientSweep``, one timer for all its streams.
///
/// It is the connection's only handler once the request is read (``EventStreamSocket``), so a
/// client costs its socket and this object, as a WebSocket client does. The relay is the
/// WebSocket's: each event is made once per message and shared (``ClientFrames/event(name:id:)``),
/// a socket that cannot take more holds only the newest snapshot (latest wins), and one that
/// stays full for the stall limit is closed (``StallWatch``). A client has nothing to say on
/// this connection: what it sends is read and dropped.
final class EventStreamWriter: ChannelDuplexHandler, SnapshotReceiver, ShutdownClosable, SweptClient {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    static let keepAliveInterval: TimeAmount = .seconds(15)

    /// The sweeps that visit event streams: twice per keep-alive interval (see ``visit()``).
    static func keepAliveSweeps() -> ClientSweeps {
        let half = TimeAmount.nanoseconds(keepAliveInterval.nanoseconds / 2)
        return ClientSweeps(interval: half, deadline: half)
    }

    let id: UInt64
    private var stream: ClientStream
    /// HTTP/1.1: events are chunks, and the stream ends with the last chunk. HTTP/1.0: bare
    /// events, and the stream ends with the connection.
    private let chunked: Bool
    private let responseHead: ByteBuffer
    private let retryMilliseconds: Int
    private let stallLimit: TimeAmount
    private let broadcaster: SnapshotBroadcaster
    private let logger: Logger
    /// Told once why the stream ended, when the gateway ended it.
    private let onEnd: (ClientCloseReason) -> Void
    private var context: ChannelHandlerContext?
    private var pending: RelayedSnapshot?
    private var writable = true
    private var ended = false
    private var wroteSinceKeepAlive = false
    /// Visits in a row that found nothing sent since the one before.
    private var silentVisits = 0
    private let keepAlives: ClientSweeps
    private var keepAlive: ClientSweep?
    var sweepIndex: Int?
    private var stallWatch: StallWatch?
    private(set) var sent = 0
    private(set) var skipped = 0

    init(
        id: UInt64, stream: ClientStream, chunked: Bool, responseHead: ByteBuffer, retryMilliseconds: Int, stallLimit: TimeAmount,
        keepAlives: ClientSweeps, broadcaster: SnapshotBroadcaster, logger: Logger, onEnd: @escaping (ClientCloseReason) -> Void
    ) {
        self.keepAlives = keepAlives
        self.id = id
        self.stream = stream
        self.chunked = chunked
        self.responseHead = responseHead
        self.retryMilliseconds = retryMilliseconds
        self.stallLimit = stallLimit
        self.broadcaster = broadcaster
        self.logger = logger
        self.onEnd = onEnd
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        stallWatch = StallWatch(limit: stallLimit, eventLoop: context.eventLoop) {
            loopBound.value.end(because: .tooSlow)
        }
        context.write(wrapOutboundOut(responseHead), promise: nil)
        write(.retry(milliseconds: retryMilliseconds), context: context)
        writable = context.channel.isWritable
        if !writable { stallWatch?.writabilityChanged(writable: false) }
        let sweep = keepAlives.sweep(on: context.eventLoop)
        sweep.add(self)
        keepAlive = sweep
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

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Nothing a client sends here means anything (EventSource sends nothing after its request).
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case is ChannelShouldQuiesceEvent:
            closeForShutdown()
        case ChannelEvent.inputClosed:
            context.close(promise: nil)
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A reset or another I/O error: nothing more can be said to this client.
        context.close(promise: nil)
    }

    private func detach() {
        guard context != nil else { return }
        context = nil
        pending = nil
        keepAlive?.remove(self)
        keepAlive = nil
        stallWatch?.cancel()
        // It holds this writer (its closure): letting it go ends the cycle.
        stallWatch = nil
        broadcaster.unregister(id: id)
        logger.info("client disconnected", metadata: ["snapshots.sent": "\(sent)", "snapshots.skipped": "\(skipped)"])
    }

    func offer(_ snapshot: RelayedSnapshot) -> Int {
        guard let context, !ended else { return 0 }
        guard writable else {
            if pending != nil {
                skipped += 1
                broadcaster.countSkipped()
            }
            pending = snapshot
            return 0
        }
        return write(snapshot, context: context)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        writable = context.channel.isWritable
        stallWatch?.writabilityChanged(writable: writable)
        if writable, let snapshot = pending {
            pending = nil
            let sent = write(snapshot, context: context)
            broadcaster.countRelayed(frames: sent > 0 ? 1 : 0, bytes: sent, generatedAtMilliseconds: snapshot.header.generatedAt)
        }
        context.fireChannelWritabilityChanged()
    }

    func closeForShutdown() {
        end(because: .shutdown)
    }

    /// Ends the stream (its last chunk) and closes the connection once that is written; a
    /// client's `EventSource` reconnects after the `retry` it was given.
    /// - Important: call on the channel's event loop.
    func end(because why: ClientCloseReason) {
        guard let context, !ended else { return }
        ended = true
        pending = nil
        onEnd(why)
        switch why {
        case .tooSlow: logger.warning("slow client closed", metadata: ["unwritable_s": "\(stallLimit.nanoseconds / 1_000_000_000)"])
        case .tokenExpired: logger.info("client closed: its token expired")
        default: break
        }
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        let end = chunked ? ServerSentEvent.lastChunk : ByteBuffer()
        context.writeAndFlush(wrapOutboundOut(end)).whenComplete { _ in loopBound.value.close(promise: nil) }
        // A stalled client never takes the last chunk: it is not waited for.
        if why == .tooSlow { context.close(promise: nil) }
    }

    private func write(_ snapshot: RelayedSnapshot, context: ChannelHandlerContext) -> Int {
        guard let message = stream.message(for: snapshot) else { return 0 }
        let event = message.frames.event(name: message.isDelta ? "delta" : "full", id: SnapshotID(snapshot.header).eventID)
        write(event, context: context)
        sent += 1
        return event.dataBytes
    }

    private func write(_ event: ServerSentEvent, context: ChannelHandlerContext) {
        wroteSinceKeepAlive = true
        context.writeAndFlush(wrapOutboundOut(chunked ? event.chunk : event.bare), promise: nil)
    }

    /// Visited twice per ``keepAliveInterval``: a comment after two visits in a row that saw
    /// nothing sent, so an idle stream carries one every 15 s and a stream is never silent for
    /// more than about 23 s (22.5 s, found by the sweep's 1 s tick; proxies close connections
    /// they see idle: the HAProxy example in docs/deploy after 30 s).
    func visit() -> UInt64? {
        guard let context, !ended else { return nil }
        silentVisits = wroteSinceKeepAlive ? 0 : silentVisits + 1
        wroteSinceKeepAlive = false
        if silentVisits >= 2, writable {
            write(.keepAlive, context: context)
            // The comment is not traffic of the stream's own: the count starts again from it.
            wroteSinceKeepAlive = false
            silentVisits = 0
        }
        return nil
    }

    func checkAnswer(_ number: UInt64) {}
}
