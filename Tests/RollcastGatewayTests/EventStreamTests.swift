import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import RollcastCore
import Testing

@testable import RollcastGateway

/// Server-Sent Events: the request's parameters, the bytes of an event, and one client's writer
/// on an embedded channel (what it sends, holds, skips and ends).
@Suite("Event stream")
struct EventStreamTests {
    static func head(_ uri: String, lastEventID: String? = nil) -> HTTPRequestHead {
        var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: uri)
        if let lastEventID { head.headers.add(name: "Last-Event-ID", value: lastEventID) }
        return head
    }

    static func refusal(_ uri: String) -> String? {
        do {
            _ = try EventStreamRequest.parse(head(uri))
            return nil
        } catch {
            return error.description
        }
    }

    @Test("the request: full stream by default, delta on ?stream=delta, symbols as on the WebSocket, Last-Event-ID of ours or none")
    func request() throws {
        let plain = try EventStreamRequest.parse(Self.head("/sse/realtime_charts"))
        #expect(plain == EventStreamRequest(deltaStream: false, chosen: nil, lastEventID: nil))
        let delta = try EventStreamRequest.parse(Self.head("/sse/realtime_charts?stream=delta&symbols=AAPL,FX:*", lastEventID: "0000000a:41"))
        #expect(delta.deltaStream)
        #expect(delta.chosen?.description == "AAPL,FX:*")
        #expect(delta.lastEventID == SnapshotID(runID: "0000000a", seq: 41))
        #expect(try EventStreamRequest.parse(Self.head("/sse/realtime_charts?stream=full")).deltaStream == false)
        // An id that is not one of ours starts the stream with a full message, not an error.
        for id in ["", "41", "a:", ":41", "a:b", "a:-1", String(repeating: "r", count: 65) + ":1"] {
            #expect(try EventStreamRequest.parse(Self.head("/sse/realtime_charts", lastEventID: id)).lastEventID == nil, "\(id)")
        }
        // A run id with a colon of its own: the seq is after the last one.
        #expect(SnapshotID(eventID: "a:b:7") == SnapshotID(runID: "a:b", seq: 7))
    }

    @Test("a request that cannot be read is refused in one line that names what is wrong")
    func refusals() {
        #expect(Self.refusal("/sse/realtime_charts?stream=deltas") == "stream must be full or delta, not deltas")
        #expect(Self.refusal("/sse/realtime_charts?stream=full&stream=delta") == "stream is given 2 times; give it once")
        #expect(Self.refusal("/sse/realtime_charts?symbols=AAPL,,MSFT") == "symbols entry 2 (''): symbol must not be empty")
    }

    @Test("an event is one HTTP chunk: its size in hex, the event, CRLF; the bare event is the same bytes without the chunk's")
    func eventBytes() {
        let event = ServerSentEvent(name: "delta", id: "0000000a:7", data: ByteBuffer(string: #"{"kind":"delta"}"#))
        let text = "id: 0000000a:7\nevent: delta\ndata: {\"kind\":\"delta\"}\n\n"
        #expect(String(buffer: event.bare) == text)
        #expect(String(buffer: event.chunk) == String(text.utf8.count, radix: 16) + "\r\n" + text + "\r\n")
        #expect(event.dataBytes == 16)
        #expect(String(buffer: ServerSentEvent.keepAlive.chunk) == "3\r\n:\n\n\r\n")
        #expect(String(buffer: ServerSentEvent.retry(milliseconds: 1_000).bare) == "retry: 1000\n\n")
    }
}

/// One SSE client's writer on an embedded channel, as ``EventStreamSocket`` installs it.
@Suite("Event stream writer")
struct EventStreamWriterTests {
    let loop = EmbeddedEventLoop()
    let channel: EmbeddedChannel
    let broadcaster = SnapshotBroadcaster(metrics: GatewayMetrics())
    let ended = EndReasons()

    final class EndReasons: @unchecked Sendable {
        var reasons: [ClientCloseReason] = []
    }

    init() {
        channel = EmbeddedChannel(loop: loop)
    }

    func writer(deltaStream: Bool, holding held: SnapshotID? = nil, chunked: Bool = true) throws -> EventStreamWriter {
        let ended = ended
        let writer = EventStreamWriter(
            id: broadcaster.makeID(), stream: ClientStream(deltaStream: deltaStream, selection: nil, holding: held), chunked: chunked,
            responseHead: EventStreamSocket.responseHead(chunked: chunked), retryMilliseconds: 1_000, stallLimit: .seconds(10),
            keepAlives: EventStreamWriter.keepAliveSweeps(), broadcaster: broadcaster, logger: Logger(label: "test"), onEnd: { ended.reasons.append($0) }
        )
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9)).wait()
        try channel.pipeline.syncOperations.addHandler(writer)
        return writer
    }

    /// Everything written so far, as text.
    func written() throws -> String {
        var text = ""
        while let part = try channel.readOutbound(as: ByteBuffer.self) { text += String(buffer: part) }
        return text
    }

    /// The events written so far, as `<event> <id> <data>`, read through the chunks.
    func events() throws -> [String] {
        var body = try written()
        if let end = body.range(of: "\r\n\r\n"), body.hasPrefix("HTTP/") { body = String(body[end.upperBound...]) }
        var events: [String] = []
        var text = ""
        // Each chunk: hex size, CRLF, that many bytes, CRLF.
        var rest = Substring(body)
        while let lineEnd = rest.range(of: "\r\n") {
            guard let size = Int(rest[..<lineEnd.lowerBound], radix: 16), size > 0 else { break }
            let start = rest.utf8.index(lineEnd.upperBound, offsetBy: 0)
            let end = rest.utf8.index(start, offsetBy: size)
            text += String(rest[start..<end])
            rest = rest[rest.utf8.index(end, offsetBy: 2)...]
        }
        for block in text.components(separatedBy: "\n\n") where block.contains("data: ") {
            var fields: [String: String] = [:]
            for line in block.split(separator: "\n") {
                let parts = line.split(separator: ":", maxSplits: 1)
                fields[String(parts[0])] = parts.count > 1 ? String(parts[1].dropFirst()) : ""
            }
            events.append("\(fields["event"] ?? "-") \(fields["id"] ?? "-") \(fields["data"] ?? "-")")
        }
        return events
    }

    func setWritable(_ writable: Bool) {
        channel.isWritable = writable
        channel.pipeline.fireChannelWritabilityChanged()
    }

    static func snapshot(_ seq: UInt64) -> RelayedSnapshot { SnapshotWriterTests.snapshot(seq) }

    @Test("the head says text/event-stream, chunked, never stored; then retry, then each snapshot as an event named by its kind, with its id")
    func headThenEvents() throws {
        let writer = try writer(deltaStream: true)
        let head = try written()
        #expect(head.hasPrefix("HTTP/1.1 200 OK\r\n"))
        for header in ["Content-Type: text/event-stream", "Cache-Control: no-store", "Transfer-Encoding: chunked", "X-Content-Type-Options: nosniff"] {
            #expect(head.contains("\r\n\(header)\r\n"), "\(header)")
        }
        #expect(head.hasSuffix("\r\n\r\nd\r\nretry: 1000\n\n\r\n"))
        writer.offer(Self.snapshot(1))
        writer.offer(Self.snapshot(2))
        #expect(try events() == ["full 0000000a:1 full-1", "delta 0000000a:2 delta-2"])
        #expect(writer.sent == 2)
    }

    @Test("Last-Event-ID: the snapshot it names is not sent again, the next one comes as a delta; an older one gets full")
    func resume() throws {
        let current = try writer(deltaStream: true, holding: SnapshotID(runID: "0000000a", seq: 4))
        _ = try written()
        #expect(current.offer(Self.snapshot(4)) == 0)
        current.offer(Self.snapshot(5))
        #expect(try events() == ["delta 0000000a:5 delta-5"])

        let behind = try writer(deltaStream: true, holding: SnapshotID(runID: "0000000a", seq: 2))
        _ = try written()
        behind.offer(Self.snapshot(5))
        #expect(try events() == ["full 0000000a:5 full-5"])
    }

    @Test("the full stream: every event is full, its data the payload")
    func fullStream() throws {
        let writer = try writer(deltaStream: false)
        for seq: UInt64 in 1...3 { writer.offer(Self.snapshot(seq)) }
        #expect(try events() == ["full 0000000a:1 full-1", "full 0000000a:2 full-2", "full 0000000a:3 full-3"])
    }

    @Test("a full socket holds the newest snapshot alone and skips the others; it goes out whole when the socket drains")
    func latestWins() throws {
        let writer = try writer(deltaStream: true)
        writer.offer(Self.snapshot(1))
        _ = try written()
        setWritable(false)
        for seq: UInt64 in 2...4 { #expect(writer.offer(Self.snapshot(seq)) == 0) }
        #expect(try written() == "")
        #expect(writer.skipped == 2)
        setWritable(true)
        #expect(try events() == ["full 0000000a:4 full-4"])
    }

    @Test("a socket full for the whole stall limit is closed, counted as too slow; one that drains in time is not")
    func stall() throws {
        _ = try writer(deltaStream: false)
        setWritable(false)
        loop.advanceTime(by: .seconds(6))
        setWritable(true)
        setWritable(false)
        loop.advanceTime(by: .seconds(6))
        #expect(channel.isActive, "unwritable 6 s, then 6 s again: neither spell reached 10 s")
        loop.advanceTime(by: .seconds(5))
        #expect(!channel.isActive)
        #expect(ended.reasons == [.tooSlow])
    }

    @Test("an idle stream carries a comment every 15 s; one that snapshots keep busy none; none is silent past 23 s")
    func keepAlive() throws {
        let writer = try writer(deltaStream: false)
        _ = try written()
        // The sweep ticks each second (a timer's next run is set from when it ran: time moves
        // by ticks) and visits each stream every 7.5 s; the head counts as sent.
        var comments: [Int] = []
        for second in 1...60 {
            loop.advanceTime(by: .seconds(1))
            if try written() == "3\r\n:\n\n\r\n" { comments.append(second) }
        }
        #expect(comments.count == 3, "\(comments)")
        #expect(zip(comments, comments.dropFirst()).allSatisfy { $1 - $0 == 15 }, "\(comments)")
        // Two silent visits after the head: 22.5 s, found by a tick of 1 s.
        #expect(comments[0] <= 23, "\(comments)")
        // Snapshots every 5 s: no comment at all.
        for second in 1...60 {
            if second % 5 == 0 { writer.offer(Self.snapshot(UInt64(second))) }
            loop.advanceTime(by: .seconds(1))
        }
        let text = try written()
        #expect(!text.contains(":\n\n"))
        #expect(text.components(separatedBy: "event: full").count - 1 == 12)
    }

    @Test("shutdown ends the stream with the last chunk and closes; nothing is written after it")
    func shutdown() throws {
        let writer = try writer(deltaStream: false)
        _ = try written()
        writer.closeForShutdown()
        #expect(try written() == "0\r\n\r\n")
        #expect(!channel.isActive)
        #expect(writer.offer(Self.snapshot(1)) == 0)
        #expect(ended.reasons == [.shutdown])
    }

    @Test("HTTP/1.0: no chunks, the events bare, the stream ends with the connection")
    func http10() throws {
        let writer = try writer(deltaStream: false, chunked: false)
        let head = try written()
        #expect(head.hasPrefix("HTTP/1.0 200 OK\r\n"))
        #expect(!head.contains("Transfer-Encoding"))
        #expect(head.hasSuffix("\r\n\r\nretry: 1000\n\n"))
        writer.offer(Self.snapshot(1))
        #expect(try written() == "id: 0000000a:1\nevent: full\ndata: full-1\n\n")
    }
}
