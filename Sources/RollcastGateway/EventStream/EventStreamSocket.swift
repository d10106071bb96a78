import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// `/sse/realtime_charts`: the realtime charts as Server-Sent Events (`text/event-stream`), for
/// clients behind proxies that do not pass WebSocket upgrades, and for `EventSource` and `curl`.
///
/// The request is the connection's first: the gate (``UpgradeGateHandler``) checks it as it
/// checks a WebSocket upgrade (Host, Origin, the token, the query, the bounds) and then hands
/// the connection over here: the HTTP layers leave the pipeline, and one ``EventStreamWriter``
/// serves it from then on, with no task of its own. (A later request on a kept-alive
/// connection is sent back to the same URL with `Connection: close`, as a late upgrade is.)
struct EventStreamSocket: Sendable {
    /// How long a client's `EventSource` waits to reconnect once a stream ends (`retry:`):
    /// long enough that a gateway's restart is not hammered, short enough to be unseen.
    static let retryMilliseconds = 1_000

    let broadcaster: SnapshotBroadcaster
    let admission: ClientAdmission
    /// How long a socket may stay full before its client is closed (`--slow-client-limit`).
    let stallLimit: TimeAmount
    /// Each event loop's keep-alives, for all its event streams at once.
    let keepAlives: ClientSweeps
    let logger: Logger

    /// Starts the stream `request` asks for on `channel`: takes the client's place, removes the
    /// HTTP handlers and installs the writer, which sends the response head.
    /// - Parameters:
    ///   - allowed: the symbols the client's token allows, where it is limited to some.
    ///   - tokenExpiry: when the client's token expires: the stream ends then.
    /// - Returns: why the stream cannot start (a bound raced past), with the HTTP layers still
    ///   in place to answer it; `nil` once it has started.
    /// - Important: call on the channel's event loop, once the request has been read whole.
    func start(
        _ request: EventStreamRequest, version: HTTPVersion, allowed: SymbolSelection?, tokenExpiry: Date?, on channel: any Channel
    ) -> ClientAdmission.Refusal? {
        let id = broadcaster.makeID()
        let selection = ChartFilter.of(chosen: request.chosen, allowed: allowed)
        let place: ClientPlace
        switch admission.admit(channel, id: id, selection: selection, deltaStream: request.deltaStream, eventStream: true) {
        case .success(let admitted): place = admitted
        case .failure(let refusal): return refusal
        }
        var logger = logger
        logger[metadataKey: "client.id"] = "\(id)"
        let chunked = version.major == 1 && version.minor >= 1
        let writer = EventStreamWriter(
            id: id, stream: ClientStream(deltaStream: request.deltaStream, selection: selection, holding: request.lastEventID),
            chunked: chunked, responseHead: Self.responseHead(chunked: chunked), retryMilliseconds: Self.retryMilliseconds,
            stallLimit: stallLimit, keepAlives: keepAlives, broadcaster: broadcaster, logger: logger, onEnd: { place.end(because: $0) }
        )
        do {
            try Self.leaveHTTP(channel.pipeline.syncOperations)
            // Next to the socket: the gate that called this is still in the pipeline, and neither
            // what the writer sends nor what the client sends may pass it.
            try channel.pipeline.syncOperations.addHandler(writer, position: .first)
        } catch {
            // The pipeline is half taken apart: nothing sensible can be said on it.
            logger.error("event stream could not start", metadata: ["error": "\(error)"])
            channel.close(promise: nil)
            return nil
        }
        admission.registry.add(NIOLoopBound<any ShutdownClosable>(writer, eventLoop: channel.eventLoop), id: id)
        if let tokenExpiry {
            TokenExpiryTimer.schedule(on: channel, at: tokenExpiry) { writer.end(because: .tokenExpired) }
        }
        logger.info(
            "client connected",
            metadata: [
                "transport": "sse", "stream": "\(request.deltaStream ? "delta" : "full")", "symbols": "\(selection?.description ?? "*")",
                "resumes": "\(request.lastEventID?.eventID ?? "-")",
            ]
        )
        return nil
    }

    /// Takes the HTTP/1 handlers out of the pipeline: from here on the connection carries the
    /// stream's own bytes. Bytes the decoder holds past the request go on to the writer, which
    /// drops them; the upgrader's pending result fails, which ends the connection's HTTP task.
    private static func leaveHTTP(_ pipeline: ChannelPipeline.SynchronousOperations) throws {
        try pipeline.removeHandler(pipeline.handler(type: NIOTypedHTTPServerUpgradeHandler<WebSocketUpgradeChannel.UpgradeResult>.self), promise: nil)
        try pipeline.removeHandler(pipeline.handler(type: HTTPResponseEncoder.self), promise: nil)
        try pipeline.removeHandler(pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self), promise: nil)
    }

    /// The `200` that starts a stream, with the headers every gateway answer carries. The stream
    /// is never stored (`no-store`) nor held back by a proxy (`X-Accel-Buffering: no`).
    static func responseHead(chunked: Bool) -> ByteBuffer {
        var head = chunked ? "HTTP/1.1 200 OK\r\n" : "HTTP/1.0 200 OK\r\n"
        head += "Content-Type: text/event-stream\r\n"
        head += "Cache-Control: no-store\r\n"
        head += "X-Accel-Buffering: no\r\n"
        head += "X-Content-Type-Options: nosniff\r\n"
        head += "Referrer-Policy: no-referrer\r\n"
        head += "Server: rollcast-gateway\r\n"
        if chunked { head += "Transfer-Encoding: chunked\r\n" }
        // The connection ends with the stream: it holds no HTTP handlers any more.
        head += "Connection: close\r\n\r\n"
        return ByteBuffer(string: head)
    }
}
