import NIOCore
import NIOWebSocket

/// Answers what a WebSocket client sends, at the end of the connection's pipeline: pongs to its
/// pings, the close handshake either way, and a close code for every message the protocol or
/// the gateway does not allow. Text messages go to ``onText`` where one is given (a delta-stream
/// client's change of what it watches); other messages are checked and dropped.
///
/// - A message (all its frames) over ``maxMessageBytes`` closes with 1009; a single frame over
///   it already fails in the frame decoder, which lands here as an error and closes the same way.
/// - Text that is not UTF-8 closes with 1007; a reserved opcode, a continuation with nothing to
///   continue, a new message inside a fragmented one, or RSV bits on a data frame close with
///   1002, except RSV1 from a client that negotiated `permessage-deflate`: its message is
///   inflated (``ClientMessageInflater``, at most ``maxMessageBytes`` out; past it 1009, and 1007
///   for one that cannot be inflated). ``ConnectionGuard`` checks
///   masking, RSV bits on control frames and the number of frames per message before this.
/// - A close the gateway starts (these checks, ``close(_:reason:because:)`` at shutdown, a
///   quiesce from the server) waits up to ``closeTimeout`` for the client's close frame, then
///   drops the connection. A client's close is echoed and the connection closed once written.
///
/// Memory is bounded by ``maxMessageBytes`` (the text of one message, kept to check its UTF-8).
final class ClientFrameHandler: ChannelInboundHandler, RemovableChannelHandler, ShutdownClosable {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    static let closeTimeout: TimeAmount = .seconds(1)

    let maxMessageBytes: Int
    private let onClose: (ClientCloseReason) -> Void
    /// Takes each whole text message; a close code and reason it returns close the connection.
    private let onText: ((String) -> (code: WebSocketErrorCode, reason: String)?)?
    private var context: ChannelHandlerContext?
    /// The opcode of a fragmented message under way.
    private var messageOpcode: WebSocketOpcode?
    private var messageBytes = 0
    /// The text of a message under way, for its UTF-8 check; nil between messages, so a
    /// connection keeps no buffer once a message is done.
    private var messageText: ByteBuffer?
    /// Whether the client negotiated `permessage-deflate`, and the message under way is compressed.
    private let inflates: Bool
    private var messageCompressed = false
    private var inflater: ClientMessageInflater?
    private var closeSent = false
    private var closeTimer: Scheduled<Void>?

    /// - Parameter onClose: called on the event loop with why the gateway closed the connection.
    init(
        maxMessageBytes: Int, inflates: Bool = false, onText: ((String) -> (code: WebSocketErrorCode, reason: String)?)? = nil,
        onClose: @escaping (ClientCloseReason) -> Void
    ) {
        self.maxMessageBytes = maxMessageBytes
        self.inflates = inflates
        self.onText = onText
        self.onClose = onClose
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        closeTimer?.cancel()
    }

    func channelInactive(context: ChannelHandlerContext) {
        closeTimer?.cancel()
        self.context = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .ping:
            guard !closeSent else { return }
            context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData)), promise: nil)
        case .pong:
            break
        case .connectionClose:
            receivedClose(frame, context: context)
        case .text, .binary:
            guard messageOpcode == nil else { return close(.protocolError, reason: "a new message began inside a fragmented one", because: .protocolError) }
            guard !(frame.rsv2 || frame.rsv3), !frame.rsv1 || inflates else {
                return close(.protocolError, reason: "the gateway takes no compressed or extended messages", because: .protocolError)
            }
            messageCompressed = frame.rsv1
            messageOpcode = frame.opcode
            messageBytes = 0
            messageText = nil
            gather(frame)
        case .continuation:
            guard messageOpcode != nil else { return close(.protocolError, reason: "a continuation frame with nothing to continue", because: .protocolError) }
            gather(frame)
        default:
            close(.protocolError, reason: "reserved opcode \(frame.opcode)", because: .protocolError)
        }
    }

    private func gather(_ frame: WebSocketFrame) {
        messageBytes += frame.length
        guard messageBytes <= maxMessageBytes else {
            return close(.messageTooLarge, reason: "a message over \(maxMessageBytes) bytes", because: .messageTooLarge)
        }
        if messageOpcode == .text {
            var data = frame.unmaskedData
            if messageText == nil {
                messageText = data
            } else {
                messageText!.writeBuffer(&data)
            }
        }
        guard frame.fin else { return }
        defer {
            messageOpcode = nil
            messageText = nil
        }
        guard messageOpcode == .text, var text = messageText else { return }
        if messageCompressed {
            do {
                if inflater == nil { inflater = try ClientMessageInflater(limit: maxMessageBytes) }
                text = try inflater!.inflate(text)
            } catch ClientMessageInflater.Failure.tooLarge {
                return close(.messageTooLarge, reason: "a message over \(maxMessageBytes) bytes once inflated", because: .messageTooLarge)
            } catch {
                return close(.dataInconsistentWithMessage, reason: "a compressed message that cannot be inflated", because: .protocolError)
            }
        }
        guard let string = String(validating: text.readableBytesView, as: UTF8.self) else {
            return close(.dataInconsistentWithMessage, reason: "a text message that is not UTF-8", because: .protocolError)
        }
        if let refusal = onText?(string) { close(refusal.code, reason: refusal.reason, because: .protocolError) }
    }

    private func receivedClose(_ frame: WebSocketFrame, context: ChannelHandlerContext) {
        // The client answered the gateway's close: the handshake is done.
        if closeSent { return context.close(promise: nil) }
        var data = frame.unmaskedData
        var answer = ByteBuffer()
        switch data.readableBytes {
        case 0:
            break
        case 1:
            return close(.protocolError, reason: "a close frame with a one-byte code", because: .protocolError)
        default:
            let code = data.readWebSocketErrorCode() ?? .protocolError
            guard Self.isValidCloseCode(code) else { return close(.protocolError, reason: "close code \(code) is not one a client may send", because: .protocolError) }
            guard String(validating: data.readableBytesView, as: UTF8.self) != nil else {
                return close(.dataInconsistentWithMessage, reason: "a close reason that is not UTF-8", because: .protocolError)
            }
            answer.write(webSocketErrorCode: code)
        }
        closeSent = true
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: answer))).whenComplete { _ in
            loopBound.value.close(promise: nil)
        }
    }

    /// Codes a close frame may carry on the wire (RFC 6455 §7.4): 1000–1003, 1007–1011 and the
    /// ranges for extensions and applications.
    static func isValidCloseCode(_ code: WebSocketErrorCode) -> Bool {
        let raw = UInt16(webSocketErrorCode: code)
        switch raw {
        case 1000...1003, 1007...1011, 3000...4999: return true
        default: return false
        }
    }

    /// Sends a close frame with `code` and `reason` and drops the connection once the client
    /// answers, or after ``closeTimeout``. Nothing is written after it; a second call does nothing.
    /// - Parameter why: what `onClose` is told; `nil` tells it nothing.
    /// - Important: call on the channel's event loop.
    func close(_ code: WebSocketErrorCode, reason: String, because why: ClientCloseReason?) {
        guard let context, !closeSent else { return }
        closeSent = true
        if let why { onClose(why) }
        var data = ByteBuffer()
        data.write(webSocketErrorCode: code)
        data.writeString(reason)
        context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: data)), promise: nil)
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        closeTimer = context.eventLoop.scheduleTask(in: Self.closeTimeout) {
            loopBound.value.close(promise: nil)
        }
    }

    func closeForShutdown() {
        close(.goingAway, reason: "server shutting down", because: .shutdown)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        switch error as? NIOWebSocketError {
        case .invalidFrameLength:
            close(.messageTooLarge, reason: "a frame over \(maxMessageBytes) bytes", because: .messageTooLarge)
        case .fragmentedControlFrame:
            close(.protocolError, reason: "a fragmented control frame", because: .protocolError)
        case .multiByteControlFrameLength:
            close(.protocolError, reason: "a control frame over 125 bytes", because: .protocolError)
        case nil:
            // A reset or another I/O error: nothing more can be said to this client.
            context.close(promise: nil)
        }
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
}
