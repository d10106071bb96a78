import Hummingbird
import HummingbirdWebSocket
import NIOCore

/// The request context of the WebSocket route; unlike the basic one it keeps the channel,
/// so the connection can be guarded below the WebSocket layer (see ``SlowClientGuard``).
struct WebSocketClientContext: RequestContext, WebSocketRequestContext {
    var coreContext: CoreRequestContextStorage
    let webSocket: WebSocketHandlerReference<Self>
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.webSocket = .init()
        self.channel = source.channel
    }
}
