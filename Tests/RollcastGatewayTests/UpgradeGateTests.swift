import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import RollcastGateway

/// The gate in front of the HTTP and WebSocket layers, on an embedded channel whose clock the
/// test moves: what it lets through, what it answers itself, and when it closes.
@Suite("Upgrade gate")
struct UpgradeGateTests {
    let channel = EmbeddedChannel()

    init(refuse: UpgradeGateHandler.Refusal? = nil) throws {
        let handler = UpgradeGateHandler(path: "/ws/realtime_charts", headDeadline: .seconds(10), defaultHost: "127.0.0.1", decide: { _ in refuse })
        try channel.pipeline.syncOperations.addHandler(handler)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9)).wait()
    }

    func request(_ uri: String, version: HTTPVersion = .http1_1, headers: [(String, String)] = [("Host", "127.0.0.1")]) throws {
        try channel.writeInbound(HTTPServerRequestPart.head(HTTPRequestHead(version: version, method: .GET, uri: uri, headers: HTTPHeaders(headers))))
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
    }

    func answer(_ status: HTTPResponseStatus = .ok) throws {
        try channel.writeOutbound(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: status)))
        try channel.writeOutbound(HTTPServerResponsePart.end(nil))
        channel.embeddedEventLoop.run()
    }

    /// The request heads the gate passed on.
    func heads() throws -> [HTTPRequestHead] {
        var heads: [HTTPRequestHead] = []
        while let part = try channel.readInbound(as: HTTPServerRequestPart.self) {
            if case .head(let head) = part { heads.append(head) }
        }
        return heads
    }

    @Test("three pipelined requests, the last with Connection: close, are each answered in order before the close")
    func pipelined() throws {
        try request("/healthz")
        try request("/readyz")
        try request("/healthz", headers: [("Host", "127.0.0.1"), ("Connection", "close")])
        #expect(try heads().map(\.uri) == ["/healthz", "/readyz", "/healthz"])
        try answer()
        #expect(channel.isActive, "closed after the first answer: the third request's close was applied to it")
        try answer()
        #expect(channel.isActive, "closed after the second answer")
        try answer()
        #expect(!channel.isActive, "open after the answer to the request that asked for the close")
    }

    @Test("100 Continue answers no request: the close still follows the final answer")
    func informational() throws {
        try request("/healthz", headers: [("Host", "127.0.0.1"), ("Connection", "close")])
        try channel.writeOutbound(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: .continue)))
        channel.embeddedEventLoop.run()
        #expect(channel.isActive)
        try answer()
        #expect(!channel.isActive)
    }

    @Test("an HTTP/1.0 request without Host is served as the default server name; one with Host keeps it")
    func http10WithoutHost() throws {
        try request("/healthz", version: .http1_0, headers: [])
        try request("/healthz", version: .http1_0, headers: [("Host", "localhost:8000")])
        let forwarded = try heads()
        #expect(forwarded.map { $0.headers["host"] } == [["127.0.0.1"], ["localhost:8000"]])
        // HTTP/1.0 without keep-alive: closed after its answer.
        try answer()
        #expect(!channel.isActive)
    }

    @Test("a connection whose first request head does not come within the deadline is closed then, and not before")
    func headDeadline() throws {
        channel.embeddedEventLoop.advanceTime(by: .seconds(9))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(!channel.isActive)
    }

    @Test("a refused upgrade is answered with its status and JSON reason, then closed; a plain request passes")
    func refusedUpgrade() throws {
        let gate = try UpgradeGateTests(refuse: .init(status: .misdirectedRequest, reason: "not this host"))
        let upgrade: [(String, String)] = [
            ("Host", "127.0.0.1"), ("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Version", "13"),
            ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ]
        try gate.request("/healthz")
        #expect(try gate.heads().count == 1)
        try gate.answer()
        try gate.request("/ws/realtime_charts", headers: upgrade)
        #expect(try gate.heads().isEmpty, "the refused upgrade went on to the WebSocket layer")
        var written: [HTTPServerResponsePart] = []
        while let part = try gate.channel.readOutbound(as: HTTPServerResponsePart.self) { written.append(part) }
        guard case .head(let head) = written.last(where: { if case .head = $0 { true } else { false } }) else {
            Issue.record("no answer written")
            return
        }
        #expect(head.status == .misdirectedRequest)
        let body = written.compactMap { part -> String? in
            if case .body(.byteBuffer(let buffer)) = part { return String(buffer: buffer) }
            return nil
        }.joined()
        #expect(body == #"{"error":"not this host"}"#)
        #expect(!gate.channel.isActive)
    }
}
