import NIOCore

/// One Server-Sent Event as the gateway writes it, made once per message and written as is to
/// every event-stream client that gets it (the WebSocket's ``SharedFrame``, for SSE).
///
/// A stream is a chunked HTTP/1.1 response, so each event is one chunk: its size line, the
/// event, and the chunk's end, in one buffer. An HTTP/1.0 client (no chunks; the stream ends
/// when the connection does) is written ``bare``, a slice of the same bytes.
struct ServerSentEvent: Sendable {
    /// The event as an HTTP/1.1 chunk.
    let chunk: ByteBuffer
    /// The event alone, sharing the chunk's storage.
    let bare: ByteBuffer
    /// Bytes of the message carried in `data:` (what the metrics count, as for a WebSocket frame).
    let dataBytes: Int

    /// `id: <id>`, `event: <name>`, `data: <data>`. `data` must be one line: every message the
    /// gateway relays is JSON without a line break (the producer's encoder writes none).
    init(name: String, id: String, data: ByteBuffer) {
        self.init(text: [ByteBuffer(string: "id: \(id)\nevent: \(name)\ndata: "), data, ByteBuffer(string: "\n\n")], dataBytes: data.readableBytes)
    }

    /// A comment, which clients ignore: a keep-alive that proxies and clients see as traffic.
    static let keepAlive = ServerSentEvent(text: [ByteBuffer(string: ":\n\n")], dataBytes: 0)

    /// How long a client waits before it reconnects once the stream ends.
    static func retry(milliseconds: Int) -> ServerSentEvent {
        ServerSentEvent(text: [ByteBuffer(string: "retry: \(milliseconds)\n\n")], dataBytes: 0)
    }

    /// The end of a chunked body: the zero-size chunk.
    static let lastChunk = ByteBuffer(string: "0\r\n\r\n")

    private init(text parts: [ByteBuffer], dataBytes: Int) {
        let length = parts.reduce(0) { $0 + $1.readableBytes }
        let sizeLine = ByteBuffer(string: String(length, radix: 16) + "\r\n")
        var chunk = ByteBuffer()
        chunk.reserveCapacity(sizeLine.readableBytes + length + 2)
        chunk.writeImmutableBuffer(sizeLine)
        for part in parts { chunk.writeImmutableBuffer(part) }
        chunk.writeString("\r\n")
        self.chunk = chunk
        bare = chunk.getSlice(at: chunk.readerIndex + sizeLine.readableBytes, length: length)!
        self.dataBytes = dataBytes
    }
}
