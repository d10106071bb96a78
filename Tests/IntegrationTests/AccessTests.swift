import Foundation
import NIOHTTP1
import RollcastCore
import Testing

@Suite("Who may use the gateway from a browser", .serialized, .timeLimit(.minutes(2)))
struct AccessTests {
    static func tick() -> [UInt8] {
        Array(#"{"ticks":[{"symbol":"ACC","t":\#(Date().timeIntervalSince1970),"price":1}]}"#.utf8)
    }

    @Test("a page on another site can neither open the WebSocket nor post; the gateway's own page and scripts can")
    func crossOrigin() async throws {
        try await RollcastStack.with { stack in
            try await stack.waitUntilReady()
            let port = stack.port
            let own = "http://127.0.0.1:\(port)"
            let sockets = try await Task.detached {
                [
                    try RawWebSocket(port: port, headers: ["Origin: https://evil.example"]),
                    try RawWebSocket(port: port, headers: ["Origin: null"]),
                    try RawWebSocket(port: port, headers: ["Origin: \(own)"]),
                    try RawWebSocket(port: port),
                ].map { ($0.status, $0.responseBody) }
            }.value
            #expect(sockets[0].0 == 403)
            #expect(sockets[0].1.contains("requests from origin 'https://evil.example' are not allowed"), "\(sockets[0].1)")
            #expect(sockets[1].0 == 403, "a sandboxed frame or a file sends Origin: null")
            #expect(sockets[2].0 == 101 && sockets[3].0 == 101, "same origin, and no origin (not a browser)")

            let foreign = try await stack.request(.POST, "/api/ingest", rawBody: Self.tick(), headers: [("Origin", "https://evil.example")])
            #expect(foreign.status == .forbidden)
            #expect(foreign.errorReason?.hasPrefix("requests from origin 'https://evil.example' are not allowed") == true)
            #expect(foreign.headers["access-control-allow-origin"].isEmpty)
            // The simple request a page could send without a preflight: text/plain.
            let plain = try await stack.request(.POST, "/api/ingest", rawBody: Self.tick(), headers: [("Content-Type", "text/plain")])
            #expect(plain.status == .unsupportedMediaType)
            #expect(plain.errorReason == "a request body must be sent as Content-Type: application/json; got 'text/plain'")
            let same = try await stack.request(.POST, "/api/ingest", rawBody: Self.tick(), headers: [("Origin", own)])
            #expect(same.status == .ok, "\(same.body)")
            let json = try await stack.request(.POST, "/api/ingest", rawBody: Self.tick(), headers: [("Content-Type", "application/json; charset=utf-8")])
            #expect(json.status == .ok, "\(json.body)")
            let applied = try JSONDecoder().decode(IngestResult.self, from: Data(json.body.utf8))
            let chart = try await stack.chart("ACC", fromSeq: applied.visibleFromSeq)
            #expect(chart.t.count == 2, "only the two allowed posts were applied")
            #expect(try await stack.request(.OPTIONS, "/api/ingest", rawBody: nil, headers: [("Origin", "https://evil.example")]).status == .forbidden)
        }
    }

    @Test("a Host the gateway does not answer for gets 421 (DNS rebinding); a request without Host gets 400")
    func hostNames() async throws {
        try await RollcastStack.with { stack in
            try await stack.waitUntilReady()
            let port = stack.port
            let rebound = try await stack.request(.GET, "/api/status", rawBody: nil, headers: [("Host", "attacker.example:\(port)")])
            #expect(rebound.status == .misdirectedRequest)
            #expect(rebound.errorReason == "this gateway does not answer for host 'attacker.example'; start it with --server-name to add one")
            for host in ["localhost:\(port)", "127.0.0.1:\(port)", "[::1]:\(port)"] {
                #expect(try await stack.request(.GET, "/healthz", rawBody: nil, headers: [("Host", host)]).status == .ok, "\(host)")
            }
            let upgrade = try await Task.detached {
                try RawWebSocket(port: port, host: "attacker.example:\(port)", headers: ["Origin: http://attacker.example:\(port)"]).status
            }.value
            #expect(upgrade == 421)
            let noHost = try await Task.detached { try RawHTTP.exchange(port: port, "GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n") }.value
            #expect(noHost.hasPrefix("HTTP/1.1 400"), "\(noHost.prefix(200))")
        }
    }

    @Test("--allowed-origin and --server-name let another site and another name in, with CORS headers for that site only")
    func allowedOrigins() async throws {
        try await RollcastStack.with(gatewayArguments: ["--allowed-origin", "https://desk.example", "--server-name", "charts.example"]) { stack in
            try await stack.waitUntilReady()
            let port = stack.port
            let upgrade = try await Task.detached { try RawWebSocket(port: port, headers: ["Origin: https://desk.example"]).status }.value
            #expect(upgrade == 101)
            let post = try await stack.request(.POST, "/api/ingest", rawBody: Self.tick(), headers: [("Origin", "https://desk.example")])
            #expect(post.status == .ok)
            #expect(post.headers["access-control-allow-origin"] == ["https://desk.example"])
            let preflight = try await stack.request(
                .OPTIONS, "/api/ingest", rawBody: nil, headers: [("Origin", "https://desk.example"), ("Access-Control-Request-Method", "POST")]
            )
            #expect(preflight.status == .noContent)
            #expect(preflight.headers["access-control-allow-methods"] == ["GET, POST"])
            #expect(try await stack.request(.GET, "/healthz", rawBody: nil, headers: [("Host", "charts.example")]).status == .ok)
            #expect(try await stack.request(.GET, "/healthz", rawBody: nil, headers: [("Host", "other.example")]).status == .misdirectedRequest)
        }
    }
}

/// One raw HTTP exchange over a plain socket: what no client library sends.
enum RawHTTP {
    static func exchange(port: Int, _ request: String, timeout: TimeInterval = 5) throws -> String {
        let socket = try RawWebSocket.connectedSocket(port: port, timeout: timeout)
        defer { close(socket) }
        _ = Array(request.utf8).withUnsafeBytes { send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            answer += buffer[..<count]
        }
        return String(decoding: answer, as: UTF8.self)
    }
}
