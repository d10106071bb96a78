import Foundation
import Logging
import NIOCore
import NIOWebSocket

/// `/ws/realtime_charts`: sends each client the latest snapshot at once, then every new one.
///
/// An upgraded connection is served by channel handlers alone (``WebSocketUpgradeChannel``),
/// installed by ``install(on:deflate:deltaStream:tokenExpiry:)`` right after the `101`: the
/// ``ConnectionGuard`` (pings, stalls, frame rules), the ``SnapshotWriter`` (the relay) and the
/// ``ClientFrameHandler`` (the client's frames, the close handshake). At shutdown
/// ``ClientShutdown`` closes every connection with 1001 through the ``ClientRegistry``.
struct RealtimeChartsSocket: Sendable {
    /// Clients have nothing to say here; anything longer is abuse.
    static let maxClientMessageBytes = 4096
    /// The subprotocol the gateway names in its answer when a client offers it: browsers that
    /// send a token as a `bearer.<token>` subprotocol need one to be chosen.
    static let subprotocol = "rollcast.v1"
    /// The subprotocol of the delta stream: a full message, then only what changed (docs/protocol.md).
    static let deltaSubprotocol = "rollcast.delta.v1"
    /// Close code 1013, "try again later", for clients past the connection cap.
    static let tryAgainLater = WebSocketErrorCode.unknown(1013)

    /// The subprotocol to answer for the `Sec-WebSocket-Protocol` values offered: the delta
    /// stream if asked for, else `rollcast.v1` if offered, else none (the full stream either way
    /// without the delta one; an unknown subprotocol alone gets the full stream and no answer).
    static func chooseSubprotocol(offered values: [String]) -> String? {
        let offered = Set(values.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) })
        if offered.contains(deltaSubprotocol) { return deltaSubprotocol }
        if offered.contains(subprotocol) { return subprotocol }
        return nil
    }

    let broadcaster: SnapshotBroadcaster
    let registry: ClientRegistry
    let limits: ConnectionGuard.Limits
    let maxClients: Int
    /// The distinct symbol selections held, and their bound.
    let subscriptions: SubscriptionSets
    let metrics: GatewayMetrics
    let logger: Logger

    /// Tokens that outlive this are not watched: no connection lives that long, and a timer
    /// cannot be set that far (it would overflow).
    static let longestWatchedToken: TimeInterval = 400 * 86_400

    /// Puts a new client's handlers in the upgraded `channel`'s pipeline, after the frame
    /// decoder, and registers it for snapshots and shutdown.
    /// - Parameters:
    ///   - selection: the charts the client gets (`?symbols=`, its token's symbols); `nil` for every chart.
    ///   - tokenExpiry: when the token the client connected with expires, on a gateway that asks
    ///     for tokens: the connection is closed with 1008 then.
    /// - Important: call on the channel's event loop.
    func install(on channel: any Channel, deflate: Bool, deltaStream: Bool, selection: ChartFilter? = nil, tokenExpiry: Date? = nil) throws {
        let pipeline = channel.pipeline.syncOperations
        let decoder = try pipeline.context(handlerType: ByteToMessageHandler<WebSocketFrameDecoder>.self)
        // The HTTP layer turns a refused upgrade into an empty 400, which tells a browser
        // nothing; so a client that raced past the cap is upgraded and at once closed with 1013.
        guard metrics.connected.increment(below: maxClients) else {
            metrics.refused.increment()
            logger.warning("client refused", metadata: ["max_clients": "\(maxClients)"])
            // Counted as refused above, not as a client that ended.
            try refuse(pipeline, after: decoder.handler, reason: "the gateway has its maximum of \(maxClients) clients; try again later")
            return
        }
        // The gate checked the bound; a client racing another to the last place gets 1013.
        if let selection, !subscriptions.add(selection) {
            metrics.connected.decrement()
            metrics.refused.increment()
            try refuse(pipeline, after: decoder.handler, reason: "the gateway holds its maximum of \(subscriptions.limit) distinct symbol selections; try again later")
            return
        }
        if deltaStream { metrics.deltaClients.increment() }
        let id = broadcaster.makeID()
        var logger = logger
        logger[metadataKey: "client.id"] = "\(id)"
        // Each piece may end the connection; the first reason given is the one counted.
        var closedBy: ClientCloseReason?
        // Before anything that can throw: a failed set-up closes the channel, which must still
        // give back its place under the cap.
        let (metrics, registry) = (metrics, registry)
        let subscriptions = subscriptions
        // The selection held now: a delta client may change it while connected.
        let held = HeldSelection(selection)
        channel.closeFuture.assumeIsolated().whenComplete { _ in
            if let selection = held.value { subscriptions.remove(selection) }
            registry.remove(id: id)
            metrics.connected.decrement()
            if deltaStream { metrics.deltaClients.decrement() }
            metrics.closed(closedBy ?? (registry.isClosingAll ? .shutdown : .client))
        }
        let limits = limits
        let connectionGuard = ConnectionGuard(limits: limits) { closure in
            switch closure {
            case .tooSlow:
                closedBy = closedBy ?? .tooSlow
                logger.warning("slow client closed", metadata: ["unwritable_s": "\(limits.stallLimit.nanoseconds / 1_000_000_000)"])
            case .pingTimeout:
                closedBy = closedBy ?? .pingTimeout
                logger.warning("unresponsive client closed", metadata: ["pong_timeout_s": "\(limits.pongTimeout.nanoseconds / 1_000_000_000)"])
            case .protocolError(let reason):
                closedBy = closedBy ?? .protocolError
                logger.info("client closed for a protocol error", metadata: ["reason": "\(reason)"])
            case .tooManyFrames:
                closedBy = closedBy ?? .messageTooLarge
                logger.info("client closed for a message in too many frames")
            }
        }
        let writer = SnapshotWriter(
            id: id, deflate: deflate, deltaStream: deltaStream, selection: selection, outlet: SharedFrameOutlet(), broadcaster: broadcaster, logger: logger
        )
        let onText: ((String) -> (code: WebSocketErrorCode, reason: String)?)? =
            deltaStream
            ? { text in
                do throws(SelectionChange.Refusal) {
                    let chosen = try SelectionChange.parse(text).applied(to: held.value?.chosen)
                    let next = ChartFilter(chosen: chosen, allowed: held.value?.allowed)
                    guard next != held.value else { return nil }
                    guard subscriptions.add(next) else {
                        return (.policyViolation, "the gateway holds its maximum of \(subscriptions.limit) distinct symbol selections; choose one another client holds")
                    }
                    if let old = held.value { subscriptions.remove(old) }
                    held.value = next
                    writer.select(next)
                    logger.debug("client changed its symbols", metadata: ["symbols": "\(next)"])
                    return nil
                } catch {
                    return (error.code, error.reason)
                }
            } : nil
        let frames = ClientFrameHandler(maxMessageBytes: Self.maxClientMessageBytes, inflates: deflate, onText: onText) { reason in
            closedBy = closedBy ?? reason
            switch reason {
            case .shutdown: break
            case .tokenExpired: logger.info("client closed: its token expired")
            default: logger.info("client closed for what it sent", metadata: ["reason": "\(reason.rawValue)"])
            }
        }
        try pipeline.addHandler(connectionGuard, position: .after(decoder.handler))
        try pipeline.addHandler(writer.outlet, position: .before(try pipeline.handler(type: WebSocketFrameEncoder.self)))
        try pipeline.addHandler(writer, position: .after(connectionGuard))
        try pipeline.addHandler(frames, position: .last)
        registry.add(NIOLoopBound(frames, eventLoop: channel.eventLoop), id: id)
        if let tokenExpiry { closeWhenExpired(channel, frames: frames, at: tokenExpiry) }
        logger.info(
            "client connected",
            metadata: ["permessage_deflate": "\(deflate)", "stream": "\(deltaStream ? "delta" : "full")", "symbols": "\(selection?.description ?? "*")"]
        )
    }

    /// Upgrades, then closes at once with 1013 and `reason`: the HTTP layer would turn a refused
    /// upgrade into an empty 400, which tells a browser nothing.
    private func refuse(_ pipeline: ChannelPipeline.SynchronousOperations, after decoder: any ChannelHandler, reason: String) throws {
        let refusal = ClientFrameHandler(maxMessageBytes: Self.maxClientMessageBytes) { _ in }
        try pipeline.addHandler(refusal, position: .after(decoder))
        refusal.close(Self.tryAgainLater, reason: reason, because: nil)
    }

    /// A token ends what it grants when it expires, an open stream included: the client gets
    /// 1008 and, reconnecting with the same token, a 401 that says why.
    private func closeWhenExpired(_ channel: any Channel, frames: ClientFrameHandler, at expiry: Date) {
        let remaining = expiry.timeIntervalSinceNow
        guard remaining < Self.longestWatchedToken else { return }
        let frames = NIOLoopBound(frames, eventLoop: channel.eventLoop)
        let timer = channel.eventLoop.scheduleTask(in: .milliseconds(Int64(max(0, remaining) * 1_000))) {
            frames.value.close(.policyViolation, reason: "the token has expired; connect again with a new one", because: .tokenExpired)
        }
        // Cancelling searches the event loop's timers (linear in them); a close is rare enough.
        channel.closeFuture.whenComplete { _ in timer.cancel() }
    }
}

/// The selection a client holds, changed on its event loop.
private final class HeldSelection {
    var value: ChartFilter?

    init(_ value: ChartFilter?) {
        self.value = value
    }
}
