import HTTPTypes
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import NIOWebSocket

/// The HTTP/1 child channel that can become a WebSocket, where an upgraded connection is
/// served by channel handlers alone.
///
/// HTTP requests are answered as by Hummingbird's own HTTP/1 channel (an async channel and a
/// task per connection, for the life of the connection). An admitted WebSocket upgrade is
/// different: `install` puts the connection's handlers in its pipeline on the event loop, right
/// after the `101` goes out, and ``handle(value:logger:)`` returns at once. The connection then
/// has no task, no async channel and no stream of its own: the relay, pings, the close
/// handshake and every limit run in handlers on the event loop (``RealtimeChartsSocket``). A
/// task per connection cost about 17 KB per client (docs/performance.md); this is what takes a
/// client's memory down to its socket and handlers.
///
/// Hummingbird's server does not close a child channel when `handle` returns: the connection
/// ends when a handler closes it, the client goes, or the server's shutdown quiesces it
/// (``ClientFrameHandler`` answers that with 1001).
struct WebSocketUpgradeChannel: ServerChildChannel, HTTPChannelHandler {
    enum UpgradeResult: Sendable {
        /// Upgraded: the connection belongs to its handlers now.
        case webSocket
        case notUpgraded(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>)
        /// An upgrade that `shouldUpgrade` turned down (the gate in front answers most refusals first).
        case failedUpgrade(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>)
    }

    struct Value: ServerChildChannelValue {
        let upgradeResult: EventLoopFuture<UpgradeResult>
        let channel: any Channel
    }

    /// What an admitted upgrade answers: extra response headers, and the handlers to install
    /// (called on the channel's event loop once the `101` has been written).
    struct Upgrade {
        var headers: HTTPHeaders
        var install: (any Channel) throws -> Void
    }

    let responder: HTTPChannelHandler.Responder
    let http1: HTTP1Channel.Configuration
    /// The largest frame a client may send; a larger one closes with 1009.
    let maxFrameSize: Int
    /// `nil` turns the upgrade down; called on the channel's event loop.
    let shouldUpgrade: @Sendable (HTTPRequestHead, any Channel) -> Upgrade?

    init(
        responder: @escaping HTTPChannelHandler.Responder, http1: HTTP1Channel.Configuration, maxFrameSize: Int,
        shouldUpgrade: @escaping @Sendable (HTTPRequestHead, any Channel) -> Upgrade?
    ) {
        self.responder = Self.redirectingLateUpgrades(responder)
        self.http1 = http1
        self.maxFrameSize = maxFrameSize
        self.shouldUpgrade = shouldUpgrade
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            // Set on the event loop by the upgrader, read there by the completion handler.
            let upgradeAttempted = NIOLoopBoundBox(false, eventLoop: channel.eventLoop)
            let installs = NIOLoopBoundBox<((any Channel) throws -> Void)?>(nil, eventLoop: channel.eventLoop)
            let shouldUpgrade = self.shouldUpgrade
            let upgrader = NIOTypedWebSocketServerUpgrader<UpgradeResult>(
                maxFrameSize: maxFrameSize,
                // Bad frames are answered by ``ClientFrameHandler``, which also counts them.
                enableAutomaticErrorHandling: false,
                shouldUpgrade: { channel, head in
                    upgradeAttempted.value = true
                    guard let upgrade = shouldUpgrade(head, channel) else { return channel.eventLoop.makeSucceededFuture(nil) }
                    installs.value = upgrade.install
                    return channel.eventLoop.makeSucceededFuture(upgrade.headers)
                },
                upgradePipelineHandler: { channel, _ in
                    channel.eventLoop.makeCompletedFuture {
                        try installs.value?(channel)
                        installs.value = nil
                        return .webSocket
                    }
                }
            )
            let http1 = self.http1
            let upgradeConfiguration = NIOTypedHTTPServerUpgradeConfiguration(
                upgraders: [upgrader],
                notUpgradingCompletionHandler: { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(HTTP1ToHTTPServerCodec(secure: false))
                        try channel.pipeline.syncOperations.addHandlers(http1.additionalChannelHandlers())
                        try channel.pipeline.syncOperations.addHandler(
                            HTTPConnectionStateHandler(idleTimeout: http1.idleTimeout.map { .init($0) }, logger: logger)
                        )
                        let asyncChannel = try NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>(
                            wrappingChannelSynchronously: channel,
                            configuration: .init(isOutboundHalfClosureEnabled: true)
                        )
                        return upgradeAttempted.value ? .failedUpgrade(asyncChannel) : .notUpgraded(asyncChannel)
                    }
                }
            )
            var configuration = NIOUpgradableHTTPServerPipelineConfiguration<UpgradeResult>(upgradeConfiguration: upgradeConfiguration)
            configuration.enablePipelining = false  // the async channel takes one request at a time
            configuration.enableErrorHandling = false  // the gate in front answers parse errors
            configuration.enableResponseHeaderValidation = false  // HTTPTypes validate already
            configuration.decoderConfiguration.maxHeaderFieldSize = http1.httpDecoder.maxHeaderFieldSize
            configuration.decoderConfiguration.maxHeaderListSize = http1.httpDecoder.maxHeaderListSize
            configuration.decoderConfiguration.maxHeaderFieldCount = http1.httpDecoder.maxHeaderFieldCount
            let result = try channel.pipeline.syncOperations.configureUpgradableHTTPServerPipeline(configuration: configuration)
            return Value(upgradeResult: result, channel: channel)
        }
    }

    func handle(value: Value, logger: Logger) async {
        do {
            switch try await value.upgradeResult.get() {
            case .webSocket:
                return
            case .notUpgraded(let http1):
                await handleHTTP(asyncChannel: http1, logger: logger)
            case .failedUpgrade(let http1):
                await refuseUpgrade(on: http1, logger: logger)
            }
        } catch let error as ChannelError where error == .inputClosed {
            logger.trace("connection closed before its first request")
        } catch let error as ChannelError where error == .inappropriateOperationForState {
            // The upgrader left the pipeline: the connection became an event stream (``EventStreamSocket``).
            logger.trace("connection handed over to an event stream")
        } catch {
            logger.debug("connection ended before its first request", metadata: ["error": "\(error)"])
        }
    }

    private func refuseUpgrade(on asyncChannel: NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>, logger: Logger) async {
        do {
            try await asyncChannel.executeThenClose { _, outbound in
                let body = ByteBuffer(string: #"{"error":"this WebSocket upgrade was not accepted"}"#)
                let head = HTTPResponse(
                    status: .badRequest,
                    headerFields: [.connection: "close", .contentType: "application/json; charset=utf-8", .contentLength: "\(body.readableBytes)"]
                )
                try await outbound.write(contentsOf: [.head(head), .body(body), .end(nil)])
            }
        } catch {
            logger.trace("refused upgrade not written", metadata: ["error": "\(error)"])
        }
    }

    /// NIO's upgrader only looks at a connection's first request: a WebSocket upgrade that comes
    /// after a plain request on a kept-alive connection is sent back to the same URL with
    /// `Connection: close`, so that the client upgrades on a new connection.
    static func redirectingLateUpgrades(_ responder: @escaping HTTPChannelHandler.Responder) -> HTTPChannelHandler.Responder {
        struct CloseAfterRedirect: Error {}
        return { request, responseWriter, channel in
            guard request.headers[.upgrade]?.lowercased() == "websocket" else {
                return try await responder(request, responseWriter, channel)
            }
            var path = request.uri.path
            if let query = request.uri.query { path += "?\(query)" }
            let response = HTTPResponse(status: .temporaryRedirect, headerFields: [.connection: "close", .location: path])
            try await responseWriter.writeResponse(response)
            throw CloseAfterRedirect()
        }
    }
}
