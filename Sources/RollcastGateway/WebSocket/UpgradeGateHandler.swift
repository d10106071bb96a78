import Foundation
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import RollcastCore

/// Answers WebSocket upgrades that may not go ahead with an HTTP status and a JSON reason:
/// a `Host` the gateway does not answer for (421), an `Origin` it does not allow (403), or
/// `--max-clients` reached (503 with `Retry-After`); and closes a connection whose first
/// request head has not arrived within `headDeadline` of connecting (slowloris; later requests
/// on a kept-alive connection are under the HTTP layer's idle timeout).
///
/// The WebSocket layer turns every refused upgrade into an empty 400, so the checks run one
/// step earlier: this handler sits between the HTTP decoder and the upgrade handler, answers
/// a refused upgrade itself and closes the connection. Plain HTTP requests and admitted
/// upgrades pass through untouched. (Connections that race past the cap are still closed with
/// 1013 by ``RealtimeChartsSocket``.)
final class UpgradeGateHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// Why an upgrade is refused: the status, the reason, and extra headers.
    struct Refusal: Sendable {
        var status: HTTPResponseStatus
        var reason: String
        var headers: [(String, String)] = []
    }

    /// Where Server-Sent Events are served, and how a stream starts: its request, when it is
    /// a connection's first, is checked here as an upgrade is, then the connection is handed over.
    struct EventStreamEntry: Sendable {
        let path: String
        /// The refusal for a request, or `nil` to let it through to the token check.
        let decide: @Sendable (HTTPRequestHead) -> Refusal?
        let authorize: (@Sendable (HTTPRequestHead) async -> Refusal?)?
        /// Starts the stream on the connection once the request is read whole (its HTTP
        /// handlers leave the pipeline); the refusal when it cannot, with them still in place.
        let start: @Sendable (HTTPRequestHead, any Channel) -> Refusal?
    }

    /// What the request under way was admitted to.
    private enum Admission {
        case none
        case upgrade
        /// An event stream, started once the request's end is read.
        case eventStream(HTTPRequestHead)
    }

    private let path: String
    /// The largest body any route takes: a body announced with `Expect: 100-continue` up to this gets `100 Continue`.
    private let continueLimit: Int
    private let decide: @Sendable (HTTPRequestHead) -> Refusal?
    private let authorize: (@Sendable (HTTPRequestHead) async -> Refusal?)?
    private let eventStream: EventStreamEntry?
    /// Request heads read on this connection: only the first can become an event stream.
    private var requestHeads = 0
    /// Set once the connection is an event stream's: nothing more is HTTP.
    private var handedOver = false
    /// The parts of an upgrade request read while its token is checked, fed on once admitted.
    private var awaitingAuthorization: [NIOAny]?
    private let headDeadline: TimeAmount
    private var headTimer: Scheduled<Void>?
    private var requestTimer: Scheduled<Void>?
    private var refusing = false
    private var admitted = Admission.none
    private var closeAfterResponse = false
    /// For each request read and not yet answered, in order: whether it asked for the
    /// connection to close after its answer (HTTP/1.0 without keep-alive, or `Connection:
    /// close`). Pipelined requests are all read before the first is answered, so the third's
    /// `close` must not end the connection after the first's answer.
    private var closeAfterAnswers: [Bool] = []
    /// The `Host` an HTTP/1.0 request without one is served as (HTTP/1.0 does not require it).
    private let defaultHost: String

    /// How long a request may take from its head to its end: a body that trickles in (or
    /// never comes) does not hold the connection for ever.
    var requestDeadline: TimeAmount { headDeadline * 4 }

    /// - Parameters:
    ///   - decide: the refusal for an upgrade request to `path`, or `nil` to let it through.
    ///   - headDeadline: how long after connecting the first request head may take.
    ///   - defaultHost: the `Host` of HTTP/1.0 requests that name none.
    ///   - authorize: the check of the request's token, after `decide` let it through; `nil` when no token is needed.
    init(
        path: String, headDeadline: TimeAmount, continueLimit: Int = 0, defaultHost: String = "localhost",
        decide: @escaping @Sendable (HTTPRequestHead) -> Refusal?, authorize: (@Sendable (HTTPRequestHead) async -> Refusal?)? = nil,
        eventStream: EventStreamEntry? = nil
    ) {
        self.eventStream = eventStream
        self.path = path
        self.defaultHost = defaultHost
        self.continueLimit = continueLimit
        self.headDeadline = headDeadline
        self.decide = decide
        self.authorize = authorize
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { startHeadTimer(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        startHeadTimer(context: context)
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        headTimer?.cancel()
        requestTimer?.cancel()
    }

    private func startHeadTimer(context: ChannelHandlerContext) {
        guard headTimer == nil else { return }
        headTimer = closing(context, after: headDeadline)
    }

    private func closing(_ context: ChannelHandlerContext, after delay: TimeAmount) -> Scheduled<Void> {
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        return context.eventLoop.scheduleTask(in: delay) {
            loopBound.value.close(promise: nil)
        }
    }

    /// A response that says `Connection: close` closes the connection once written, whether or
    /// not the request was read whole (a 413 for a body that never comes, say).
    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head) where head.status.code >= 200:
            // A final answer (not `100 Continue`) answers the oldest request not yet answered.
            let asked = closeAfterAnswers.isEmpty ? false : closeAfterAnswers.removeFirst()
            closeAfterResponse = asked || head.headers["connection"].contains { $0.lowercased() == "close" }
            context.write(data, promise: promise)
        case .end where closeAfterResponse:
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            context.writeAndFlush(data).whenComplete { result in
                promise?.completeWith(result)
                loopBound.value.close(promise: nil)
            }
        default:
            context.write(data, promise: promise)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Bytes the HTTP decoder held past an event stream's request: the stream's, not ours.
        guard !handedOver else { return }
        if awaitingAuthorization != nil {
            // A GET upgrade brings its end and nothing more; anything past that waits unread.
            awaitingAuthorization?.append(data)
            return
        }
        var data = data
        switch unwrapInboundIn(data) {
        case .head(var head):
            requestHeads += 1
            headTimer?.cancel()
            requestTimer?.cancel()
            requestTimer = closing(context, after: requestDeadline)
            closeAfterAnswers.append(!head.isKeepAlive)
            if head.version == .http1_0, !head.headers.contains(name: "host") {
                head.headers.add(name: "Host", value: defaultHost)
                data = wrapInboundOut(.head(head))
            }
            if wantsContinue(head) {
                context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .continue))), promise: nil)
            }
        case .end:
            requestTimer?.cancel()
        case .body:
            break
        }
        switch unwrapInboundIn(data) {
        case .head(let head) where wantsWebSocket(head):
            if let refusal = handshakeRefusal(head) ?? decide(head) {
                refusing = true
                answerAndClose(refusal, version: head.version, context: context)
            } else if let authorize {
                checkToken(head, authorize: authorize, request: data, admitting: .upgrade, context: context)
            } else {
                admitted = .upgrade
                context.fireChannelRead(data)
            }
        case .head(let head) where requestHeads == 1 && isEventStream(head):
            guard let eventStream else { return }
            if let refusal = eventStream.decide(head) {
                refusing = true
                answerAndClose(refusal, version: head.version, context: context)
            } else if let authorize = eventStream.authorize {
                checkToken(head, authorize: authorize, request: data, admitting: .eventStream(head), context: context)
            } else {
                admitted = .eventStream(head)
            }
        case .head(var head) where head.headers.contains(name: "upgrade"):
            // An upgrade to anything but a WebSocket (`h2c`, what `curl --http2` offers) is
            // answered as the plain HTTP/1.1 request it also is.
            admitted = .none
            head.headers.remove(name: "upgrade")
            head.headers.remove(name: "http2-settings")
            context.fireChannelRead(wrapInboundOut(.head(head)))
        case .head:
            admitted = .none
            context.fireChannelRead(data)
        case .body:
            // An event stream's request has no use for a body.
            if case .eventStream = admitted { return }
            if !refusing { context.fireChannelRead(data) }
        case .end:
            // The rest of a refused request is dropped.
            guard !refusing else { return }
            if case .eventStream(let head) = admitted { return handOver(head, context: context) }
            context.fireChannelRead(data)
            // After an upgrade the pipeline carries WebSocket bytes, not HTTP parts, and
            // those only come once the client has the 101: leave before then.
            if case .upgrade = admitted { context.pipeline.syncOperations.removeHandler(context: context, promise: nil) }
        }
    }

    /// Starts the event stream `head` asked for, or answers why it cannot start.
    private func handOver(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        admitted = .none
        guard let eventStream else { return }
        if let refusal = eventStream.start(head, context.channel) {
            refusing = true
            answerAndClose(refusal, version: head.version, context: context)
            return
        }
        handedOver = true
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    /// Holds the upgrade or event stream (and stops reading) while `authorize` runs off the
    /// event loop, then refuses it or lets it and the parts read meanwhile through.
    private func checkToken(
        _ head: HTTPRequestHead, authorize: @escaping @Sendable (HTTPRequestHead) async -> Refusal?, request: NIOAny, admitting admission: Admission,
        context: ChannelHandlerContext
    ) {
        awaitingAuthorization = []
        context.channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
        let verdict = context.eventLoop.makePromise(of: Refusal?.self)
        verdict.completeWithTask { await authorize(head) }
        let loopBound = NIOLoopBound((handler: self, context: context, request: request), eventLoop: context.eventLoop)
        verdict.futureResult.whenSuccess { refusal in
            let (handler, context, request) = loopBound.value
            handler.resume(after: refusal, head: head, request: request, admitting: admission, context: context)
        }
    }

    private func resume(after refusal: Refusal?, head: HTTPRequestHead, request: NIOAny, admitting admission: Admission, context: ChannelHandlerContext) {
        let waiting = awaitingAuthorization ?? []
        awaitingAuthorization = nil
        context.channel.setOption(ChannelOptions.autoRead, value: true).whenComplete { _ in }
        guard context.channel.isActive else { return }
        if let refusal {
            refusing = true
            answerAndClose(refusal, version: head.version, context: context)
            return
        }
        admitted = admission
        // An upgrade goes on to the upgrader; an event stream's head stays here.
        if case .upgrade = admission { context.fireChannelRead(request) }
        for part in waiting {
            channelRead(context: context, data: part)
            // With the request's end the handler leaves the pipeline; what follows is the WebSocket's
            // (or the event stream's).
            if case .end = unwrapInboundIn(part) { break }
        }
    }

    /// A request the HTTP decoder cannot read gets a status and a reason, and the connection
    /// closes (the decoder cannot find where the next request would start).
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let error = error as? HTTPParserError, !refusing else { return context.fireErrorCaught(error) }
        refusing = true
        headTimer?.cancel()
        answerAndClose(Self.refusal(for: error), version: .http1_1, context: context)
    }

    static func refusal(for error: HTTPParserError) -> Refusal {
        switch error {
        case .headerOverflow: Refusal(status: .requestHeaderFieldsTooLarge, reason: "the request's head is larger than 80 KB")
        case .invalidMethod: Refusal(status: .notImplemented, reason: "the gateway answers GET, HEAD, POST and OPTIONS")
        case .invalidVersion: Refusal(status: .httpVersionNotSupported, reason: "the gateway speaks HTTP/1.0 and HTTP/1.1")
        case .invalidURL, .invalidPath, .invalidQueryString, .invalidFragment: Refusal(status: .badRequest, reason: "the request's target is not a valid URL path")
        case .invalidContentLength, .unexpectedContentLength: Refusal(status: .badRequest, reason: "the request's Content-Length is not valid (one, a number, and no Transfer-Encoding beside it)")
        case .invalidChunkSize: Refusal(status: .badRequest, reason: "a chunk of the request's body has an invalid size")
        default: Refusal(status: .badRequest, reason: "the request is not valid HTTP/1.1")
        }
    }

    private func answerAndClose(_ refusal: Refusal, version: HTTPVersion, context: ChannelHandlerContext) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        let body = ByteBuffer(bytes: (try? encoder.encode(APIError.ErrorBody(error: refusal.reason))) ?? Data())
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json; charset=utf-8")
        headers.add(name: "Content-Length", value: "\(body.readableBytes)")
        for (name, value) in refusal.headers { headers.add(name: name, value: value) }
        // What every answer of the gateway carries (``HardeningMiddleware``), these too.
        headers.add(name: "X-Content-Type-Options", value: "nosniff")
        headers.add(name: "Referrer-Policy", value: "no-referrer")
        headers.add(name: "Connection", value: "close")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: version, status: refusal.status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
            loopBound.value.close(promise: nil)
        }
    }

    /// A body announced with `Expect: 100-continue` that the gateway may take gets `100 Continue`
    /// at once, so the client sends it now instead of after its own wait (curl: 1 s). One over
    /// every body limit gets no 100: the route answers 413 and closes without reading it.
    private func wantsContinue(_ head: HTTPRequestHead) -> Bool {
        guard head.version == .http1_1, head.headers["expect"].contains(where: { $0.lowercased() == "100-continue" }) else { return false }
        let declared = head.headers["content-length"].first.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        return declared.map { $0 <= continueLimit } ?? true
    }

    /// A GET of the event stream's path that upgrades to nothing.
    private func isEventStream(_ head: HTTPRequestHead) -> Bool {
        guard let eventStream, head.method == .GET, !head.headers.contains(name: "upgrade") else { return false }
        return head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) == eventStream.path
    }

    private func wantsWebSocket(_ head: HTTPRequestHead) -> Bool {
        head.headers["upgrade"].contains { $0.lowercased() == "websocket" }
    }

    /// What RFC 6455 requires of the handshake itself, answered with a reason instead of the
    /// empty 400 (or a silent close) the layers below would give.
    private func handshakeRefusal(_ head: HTTPRequestHead) -> Refusal? {
        guard head.uri.split(separator: "?").first.map(String.init) == path else {
            return Refusal(status: .notFound, reason: "no WebSocket at \(head.uri.prefix(100)); use \(path)")
        }
        guard head.method == .GET else {
            return Refusal(status: .methodNotAllowed, reason: "a WebSocket upgrade is a GET, not \(head.method.rawValue.prefix(20))", headers: [("Allow", "GET")])
        }
        guard head.headers["sec-websocket-version"].first?.trimmingCharacters(in: .whitespaces) == "13" else {
            return Refusal(status: .upgradeRequired, reason: "this server speaks WebSocket version 13", headers: [("Sec-WebSocket-Version", "13")])
        }
        guard let key = head.headers["sec-websocket-key"].first, Data(base64Encoded: key.trimmingCharacters(in: .whitespaces))?.count == 16 else {
            return Refusal(status: .badRequest, reason: "Sec-WebSocket-Key must be 16 bytes in base64")
        }
        return nil
    }
}
