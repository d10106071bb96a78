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
    /// The bounds a client's place is taken under, and the registry shutdown closes it through.
    let admission: ClientAdmission
    let limits: ConnectionGuard.Limits
    /// Each event loop's pings, for all its clients at once.
    let pingSweeps: ClientSweeps
    let logger: Logger

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
        let id = broadcaster.makeID()
        let place: ClientPlace
        switch admission.admit(channel, id: id, selection: selection, deltaStream: deltaStream, eventStream: false) {
        case .success(let admitted): place = admitted
        case .failure(let refusal):
            // The HTTP layer turns a refused upgrade into an empty 400, which tells a browser
            // nothing; so a client that raced past a bound is upgraded and at once closed with 1013.
            try refuse(pipeline, after: decoder.handler, reason: refusal.reason)
            return
        }
        var logger = logger
        logger[metadataKey: "client.id"] = "\(id)"
        let subscriptions = admission.subscriptions
        let limits = limits
        let connectionGuard = ConnectionGuard(limits: limits, sweeps: pingSweeps) { closure in
            switch closure {
            case .tooSlow:
                place.end(because: .tooSlow)
                logger.warning("slow client closed", metadata: ["unwritable_s": "\(limits.stallLimit.nanoseconds / 1_000_000_000)"])
            case .pingTimeout:
                place.end(because: .pingTimeout)
                logger.warning("unresponsive client closed", metadata: ["pong_timeout_s": "\(limits.pongTimeout.nanoseconds / 1_000_000_000)"])
            case .protocolError(let reason):
                place.end(because: .protocolError)
                logger.info("client closed for a protocol error", metadata: ["reason": "\(reason)"])
            case .tooManyFrames:
                place.end(because: .messageTooLarge)
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
                    let chosen = try SelectionChange.parse(text).applied(to: place.selection?.chosen)
                    let next = ChartFilter(chosen: chosen, allowed: place.selection?.allowed)
                    guard next != place.selection else { return nil }
                    guard subscriptions.add(next) else {
                        return (.policyViolation, "the gateway holds its maximum of \(subscriptions.limit) distinct symbol selections; choose one another client holds")
                    }
                    if let old = place.selection { subscriptions.remove(old) }
                    place.selection = next
                    writer.select(next)
                    logger.debug("client changed its symbols", metadata: ["symbols": "\(next)"])
                    return nil
                } catch {
                    return (error.code, error.reason)
                }
            } : nil
        let frames = ClientFrameHandler(maxMessageBytes: Self.maxClientMessageBytes, inflates: deflate, onText: onText) { reason in
            place.end(because: reason)
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
        admission.registry.add(NIOLoopBound<any ShutdownClosable>(frames, eventLoop: channel.eventLoop), id: id)
        if let tokenExpiry {
            TokenExpiryTimer.schedule(on: channel, at: tokenExpiry) {
                frames.close(.policyViolation, reason: "the token has expired; connect again with a new one", because: .tokenExpired)
            }
        }
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
}
