import Foundation
import NIOHTTP1
import Testing

@Suite("HTTP details an attacker tries", .serialized, .timeLimit(.minutes(2)))
struct HTTPDetailTests {
    @Test("NUL in a path, HEAD, a huge unknown path, Range and the dashboard's security headers")
    func details() async throws {
        // A copy of the web root with a link that leads outside it.
        let webRoot = "/tmp/rcw-\(UUID().uuidString.prefix(8))"
        try FileManager.default.copyItem(atPath: "\(TestEnvironment.repositoryRoot)/web", toPath: webRoot)
        defer { try? FileManager.default.removeItem(atPath: webRoot) }
        try FileManager.default.createSymbolicLink(atPath: "\(webRoot)/passwd.txt", withDestinationPath: "/etc/passwd")
        try FileManager.default.createDirectory(atPath: "\(webRoot)/sub", withIntermediateDirectories: false)
        try FileManager.default.createSymbolicLink(atPath: "\(webRoot)/sub/index.html", withDestinationPath: "/etc/passwd")
        try await RollcastStack.with(gatewayArguments: ["--web-root", webRoot]) { stack in
            try await stack.waitUntilReady()
            let port = stack.port
            let nul = try await Task.detached { try RawHTTP.exchange(port: port, "GET /index.html%00.js HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n\r\n") }.value
            #expect(nul.hasPrefix("HTTP/1.1 400"), "\(nul.prefix(200))")
            #expect(!nul.contains("text/javascript"))

            let head = try await stack.request(.HEAD, "/healthz", rawBody: nil)
            #expect(head.status == .ok && head.body.isEmpty)
            let page = try await stack.request(.HEAD, "/", rawBody: nil)
            #expect(page.status == .ok && page.body.isEmpty)

            let long = try await stack.request(.GET, "/" + String(repeating: "a", count: 20_000), rawBody: nil)
            #expect(long.status == .notFound)
            #expect((long.errorReason?.count ?? .max) < 130, "the 404 echoed \(long.body.count) bytes")

            let dashboard = try await stack.request(.GET, "/", rawBody: nil)
            #expect(dashboard.headers["content-security-policy"].first?.contains("frame-ancestors 'none'") == true)
            #expect(dashboard.headers["x-content-type-options"] == ["nosniff"])
            #expect(try await stack.request(.GET, "/api/status", rawBody: nil).headers["x-content-type-options"] == ["nosniff"])

            let full = try await stack.request(.GET, "/app.js", rawBody: nil)
            for range in ["bytes=-5", "bytes=999999999-", "bytes=0-3"] {
                let answer = try await stack.request(.GET, "/app.js", rawBody: nil, headers: [("Range", range)])
                #expect(answer.status == .ok && answer.body == full.body, "\(range): \(answer.status), the whole file, not a slice")
            }
            #expect(try await stack.request(.GET, "/passwd.txt", rawBody: nil).status == .notFound, "a link out of the web root is not followed")
            for spelling in ["/passwd%2Etxt", "/%70asswd.txt", "/sub/", "/sub/index.html", "/./passwd.txt"] {
                let answer = try await Task.detached {
                    try RawHTTP.exchange(port: port, "GET \(spelling) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n\r\n")
                }.value
                #expect(answer.hasPrefix("HTTP/1.1 404") && !answer.contains("root:"), "\(spelling): \(answer.prefix(200))")
            }
        }
    }

    @Test("clients that ask for the window and never read share one copy of it: gateway memory stays put")
    func unreadWindows() async throws {
        let symbols = (1...40).map { "U\($0)" }.joined(separator: ",")
        try await RollcastStack.with(producerArguments: ["--mock-symbols", symbols, "--mock-rate", "20", "--interval", "0.5"]) { stack in
            try await stack.waitUntilReady()
            let gateway = try #require(stack.gateway)
            let size = try await stack.request(.GET, "/api/realtime_window", rawBody: nil).body.utf8.count
            #expect(size > 500_000, "the window is \(size) bytes")
            let before = gateway.residentKiB
            let port = stack.port
            let sockets = try await Task.detached { () -> [Int32] in
                try (0..<200).map { _ in
                    let socket = try RawWebSocket.connectedSocket(port: port, timeout: 5, receiveBuffer: 4096)
                    _ = Array("GET /api/realtime_window HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\n\r\n".utf8).withUnsafeBytes {
                        send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
                    }
                    return socket
                }
            }.value
            defer { sockets.forEach { close($0) } }
            // Once the gateway has answered all 200 (its own count), whatever they cost is held.
            let series = #"rollcast_gateway_http_requests_total{route="/api/realtime_window",status="200"}"#
            _ = try await poll("the gateway to answer the 200 requests", within: .seconds(20)) { () -> Bool? in
                let samples = MetricsTests.samples(of: try await stack.request(.GET, "/metrics", rawBody: nil).body)
                return (samples[series] ?? 0) >= 201 ? true : nil
            }
            // 200 copies would be 200 × the window; shared, the cost is the sockets' buffers.
            let grown = gateway.residentKiB - before
            #expect(grown < size * 200 / 1024 / 4, "RSS grew \(grown) KiB for 200 unread windows of \(size) bytes")
            #expect(try await stack.request(.GET, "/healthz", rawBody: nil).status == .ok)
        }
    }

    @Test("a WebSocket upgrade after a plain request on the same connection is sent to a new connection (307, then a close)")
    func lateUpgrade() async throws {
        try await RollcastStack.with { stack in
            try await stack.waitUntilReady()
            let port = stack.port
            let host = "Host: 127.0.0.1:\(port)\r\n"
            let requests = "GET /healthz HTTP/1.1\r\n\(host)\r\n"
                + "GET /ws/realtime_charts HTTP/1.1\r\n\(host)Upgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            let started = Date()
            let answer = try await Task.detached { try RawHTTP.exchange(port: port, requests) }.value
            let heads = answer.components(separatedBy: "HTTP/1.1 ").dropFirst().map { $0.prefix(3) }
            #expect(heads == ["200", "307"], "\(answer.prefix(300))")
            #expect(answer.lowercased().contains("location: /ws/realtime_charts"))
            #expect(Date().timeIntervalSince(started) < 3, "the connection was left open after the 307")
            // A new connection upgrades.
            #expect(try await Task.detached { try RawWebSocket(port: port).status }.value == 101)
        }
    }

    @Test("requests the HTTP parser cannot read get a status, a JSON reason and a close")
    func malformed() async throws {
        try await RollcastStack.with { stack in
            try await stack.waitUntilReady()
            let port = stack.port
            let host = "Host: 127.0.0.1:\(port)\r\n"
            let cases: [(name: String, request: String, status: String)] = [
                ("a garbage request line", "GARBAGE\r\n\r\n", "501"),
                ("an unknown method", "FOO / HTTP/1.1\r\n\(host)\r\n", "501"),
                ("HTTP/9.9", "GET / HTTP/9.9\r\n\(host)\r\n", "505"),
                ("an 90 KB header", "GET / HTTP/1.1\r\n\(host)X-Big: \(String(repeating: "a", count: 90_000))\r\n\r\n", "431"),
                ("two Content-Lengths", "POST /api/ingest HTTP/1.1\r\n\(host)Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello", "400"),
                ("Transfer-Encoding beside Content-Length", "POST /api/ingest HTTP/1.1\r\n\(host)Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "400"),
                ("an invalid chunk size", "POST /api/ingest HTTP/1.1\r\n\(host)Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\nabc\r\n0\r\n\r\n", "400"),
                ("HTTP/1.0 (closes after the answer)", "GET /healthz HTTP/1.0\r\n\(host)\r\n", "200"),
            ]
            for item in cases {
                let started = Date()
                let answer = try await Task.detached { try RawHTTP.exchange(port: port, item.request) }.value
                #expect(answer.hasPrefix("HTTP/1.1 \(item.status)"), "\(item.name): \(answer.prefix(80))")
                #expect(answer.contains("\r\n\r\n{\""), "\(item.name): a JSON body")
                #expect(Date().timeIntervalSince(started) < 3, "\(item.name): the connection was left open")
            }
            // HTTP/1.0 does not require Host: served as the gateway's own name, then closed.
            let old = try await Task.detached { try RawHTTP.exchange(port: port, "GET /healthz HTTP/1.0\r\n\r\n") }.value
            #expect(old.hasPrefix("HTTP/1.1 200") || old.hasPrefix("HTTP/1.0 200"), "\(old.prefix(80))")
            // Pipelined requests are each answered, in order, and the connection closes after the one that asked.
            let pipelined = try await Task.detached {
                try RawHTTP.exchange(port: port, "GET /healthz HTTP/1.1\r\n\(host)\r\nGET /readyz HTTP/1.1\r\n\(host)\r\nGET /api/status HTTP/1.1\r\n\(host)Connection: close\r\n\r\n")
            }.value
            let statuses = pipelined.components(separatedBy: "HTTP/1.1 ").dropFirst().map { $0.prefix(3) }
            #expect(statuses == ["200", "200", "200"], "\(pipelined.prefix(400))")
            #expect(pipelined.contains("\"ready\":true") && pipelined.contains("\"producer\""), "the answers are not those of the requests, in order")
            // What `curl --http2` sends: an h2c upgrade offer, answered as plain HTTP/1.1.
            let h2c = "GET /healthz HTTP/1.1\r\n\(host)Connection: Upgrade, HTTP2-Settings, close\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n"
            #expect(try await Task.detached { try RawHTTP.exchange(port: port, h2c) }.value.hasPrefix("HTTP/1.1 200"))
        }
    }
}
