import Foundation
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOHTTP1

/// Answers WebSocket upgrades past `--max-clients` with HTTP 503 and a JSON reason.
///
/// The WebSocket layer turns every refused upgrade into an empty 400, so the cap is checked
/// one step earlier: this handler sits between the HTTP decoder and the upgrade handler,
/// answers an upgrade request itself when the gateway is full, and closes the connection.
/// Plain HTTP requests and upgrades below the cap pass through untouched. (Connections that
/// race past it are still closed with 1013 by ``RealtimeChartsSocket``.)
final class ConnectionCapHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let path: String
    private let isFull: @Sendable () -> Bool
    private let onRefused: @Sendable () -> Void
    private let body: ByteBuffer
    private var refusing = false
    private var admittedUpgrade = false

    init(path: String, maxClients: Int, isFull: @escaping @Sendable () -> Bool, onRefused: @escaping @Sendable () -> Void) {
        self.path = path
        self.isFull = isFull
        self.onRefused = onRefused
        self.body = ByteBuffer(string: #"{"error":"the gateway has its maximum of \#(maxClients) clients; try again later"}"#)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head) where isUpgrade(head) && isFull():
            refusing = true
            onRefused()
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: "application/json; charset=utf-8")
            headers.add(name: "Content-Length", value: "\(body.readableBytes)")
            headers.add(name: "Retry-After", value: "5")
            headers.add(name: "Connection", value: "close")
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .serviceUnavailable, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
                loopBound.value.close(promise: nil)
            }
        case .head(let head):
            admittedUpgrade = isUpgrade(head)
            context.fireChannelRead(data)
        case .body:
            if !refusing { context.fireChannelRead(data) }
        case .end:
            // The rest of a refused request is dropped.
            guard !refusing else { return }
            context.fireChannelRead(data)
            // After an upgrade the pipeline carries WebSocket bytes, not HTTP parts, and
            // those only come once the client has the 101: leave before then.
            if admittedUpgrade { context.pipeline.syncOperations.removeHandler(context: context, promise: nil) }
        }
    }

    private func isUpgrade(_ head: HTTPRequestHead) -> Bool {
        head.headers["upgrade"].contains { $0.lowercased() == "websocket" } && head.uri.split(separator: "?").first.map(String.init) == path
    }
}

/// The HTTP/1 + WebSocket child channel with a ``ConnectionCapHandler`` in its pipeline,
/// and the ``UnsentBytesLimit`` on its socket.
struct CappedWebSocketChannel: ServerChildChannel {
    typealias Value = HTTP1WebSocketUpgradeChannel.Value

    let inner: HTTP1WebSocketUpgradeChannel
    let path: String
    let maxClients: Int
    let isFull: @Sendable () -> Bool
    let onRefused: @Sendable () -> Void

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        UnsentBytesLimit.apply(to: channel, logger: logger)
        return inner.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let upgrader = try channel.pipeline.syncOperations.handler(
                type: NIOTypedHTTPServerUpgradeHandler<HTTP1WebSocketUpgradeChannel.UpgradeResult>.self
            )
            try channel.pipeline.syncOperations.addHandler(
                ConnectionCapHandler(path: path, maxClients: maxClients, isFull: isFull, onRefused: onRefused),
                position: .before(upgrader)
            )
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await inner.handle(value: value, logger: logger)
    }
}
