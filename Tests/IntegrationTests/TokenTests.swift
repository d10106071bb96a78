import Foundation
import NIOHTTP1
import RollcastCore
import Testing

/// A gateway started with `--jwt-secret-file`: who gets in with which token.
@Suite("Tokens and roles", .serialized, .timeLimit(.minutes(2)))
struct TokenTests {
    /// A key file for a stack, readable by its owner only, and tokens signed with it by the real `token` command.
    struct Keys {
        let path: String

        init(in directory: String, name: String = "jwt.key", mode: Int = 0o600, bytes: Int = 48) throws {
            path = "\(directory)/\(name)"
            let key = (0..<bytes).map { _ in "abcdefghijklmnopqrstuvwxyz0123456789".randomElement()! }
            try (String(key) + "\n").write(toFile: path, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
        }

        func token(_ role: String, ttl: String = "1h", symbols: String? = nil) async throws -> String {
            let output = try await TokenTests.gatewayCommand(
                ["--jwt-secret-file", path, "token", "--role", role, "--ttl", ttl] + (symbols.map { ["--symbols", $0] } ?? [])
            )
            #expect(output.status == 0, "\(output.text)")
            return output.text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }

    /// A token's `exp`, read from its payload.
    static func expiry(of token: String) throws -> Date {
        var payload = String(token.split(separator: ".")[1]).replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while payload.count % 4 != 0 { payload += "=" }
        let claims = try JSONSerialization.jsonObject(with: Data(base64Encoded: payload) ?? Data()) as? [String: Any]
        let exp = try #require(claims?["exp"] as? Double)
        return Date(timeIntervalSince1970: exp)
    }

    /// Runs `rollcast-gateway` with `arguments` to its end: its exit status and output.
    static func gatewayCommand(_ arguments: [String]) async throws -> (status: Int32, text: String) {
        let directory = "/tmp/rct-\(UUID().uuidString.prefix(8).lowercased())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let process = try RollcastProcess(executable: "rollcast-gateway", arguments: arguments, logPath: "\(directory)/out")
        #expect(await process.waitForExit(within: .seconds(15)))
        return (process.process.terminationStatus, process.log)
    }

    /// A stack whose gateway asks for tokens.
    static func withSecuredStack(producerArguments: [String] = ["--no-mock-feed", "--interval", "0.5"], _ body: (RollcastStack, Keys) async throws -> Void) async throws {
        let directory = "/tmp/rck-\(UUID().uuidString.prefix(8).lowercased())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let keys = try Keys(in: directory)
        try await RollcastStack.with(producerArguments: producerArguments, gatewayArguments: ["--jwt-secret-file", keys.path]) { stack in
            _ = try await poll("the gateway to report ready", within: .seconds(15)) {
                try? await stack.request(.GET, "/readyz").status == .ok ? true : nil
            }
            try await body(stack, keys)
        }
    }

    static func bearer(_ token: String) -> [(String, String)] { [("Authorization", "Bearer \(token)")] }

    static func tick() -> [UInt8] {
        Array(#"{"ticks":[{"symbol":"TOK","t":\#(Date().timeIntervalSince1970),"price":1}]}"#.utf8)
    }

    @Test("HTTP: no token and a forged one get 401, an expired one 401 saying so, the wrong role 403, the right role passes")
    func httpRoutes() async throws {
        try await Self.withSecuredStack { stack, keys in
            let read = try await keys.token("read")
            let write = try await keys.token("write")
            let shortLived = try await keys.token("read", ttl: "1s")
            let other = try Keys(in: stack.runDirectory, name: "other.key")
            let forged = try await other.token("write")

            #expect(try await stack.request(.GET, "/healthz").status == .ok, "health checks need no token")
            #expect(try await stack.request(.GET, "/").status == .ok, "the dashboard's page needs none: it holds no data")

            let none = try await stack.request(.GET, "/api/status")
            #expect(none.status == .unauthorized)
            #expect(none.headers["www-authenticate"] == [#"Bearer realm="rollcast""#])
            #expect(none.errorReason?.hasPrefix("this gateway needs a token") == true, "\(none.body)")
            let bad = try await stack.request(.GET, "/api/status", rawBody: nil, headers: Self.bearer(forged))
            #expect(bad.status == .unauthorized)
            #expect(bad.errorReason == "the token's signature does not match this gateway's key")
            let garbage = try await stack.request(.GET, "/api/realtime_window", rawBody: nil, headers: Self.bearer("not-a-jwt"))
            #expect(garbage.status == .unauthorized)
            #expect(try await stack.request(.GET, "/api/status", rawBody: nil, headers: Self.bearer(read)).status == .ok)
            #expect(try await stack.request(.GET, "/api/realtime_window", rawBody: nil, headers: Self.bearer(read)).status == .ok)

            let readWrites = try await stack.request(.POST, "/api/ingest", rawBody: Self.tick(), headers: Self.bearer(read))
            #expect(readWrites.status == .forbidden)
            #expect(readWrites.errorReason == "this needs a write token; this one is read")
            let readLoads = try await stack.request(.POST, "/api/test/load_mock_data", rawBody: Array("{}".utf8), headers: Self.bearer(read))
            #expect(readLoads.status == .forbidden)
            let unsigned = try await stack.request(.POST, "/api/ingest", rawBody: Self.tick())
            #expect(unsigned.status == .unauthorized)
            let written = try await stack.request(.POST, "/api/ingest", rawBody: Self.tick(), headers: Self.bearer(write))
            #expect(written.status == .ok, "\(written.body)")
            let status = try await stack.request(.GET, "/api/status", rawBody: nil, headers: Self.bearer(write))
            #expect(status.body.contains(#""batches":1"#), "only the write token's batch was applied: \(status.body)")

            let expired = try await poll("the 1 s token to expire", within: .seconds(15)) { () -> RollcastStack.HTTPAnswer? in
                let answer = try await stack.request(.GET, "/api/status", rawBody: nil, headers: Self.bearer(shortLived))
                return answer.status == .ok ? nil : answer
            }
            #expect(expired.status == .unauthorized)
            #expect(expired.errorReason == "the token has expired; ask for a new one")
            #expect(expired.headers["www-authenticate"].first?.contains(#"error="invalid_token""#) == true)
        }
    }

    @Test("WebSocket: refused before the upgrade without a token, with a forged or an expired one; a token as subprotocol or query parameter gets the stream")
    func webSocket() async throws {
        try await Self.withSecuredStack { stack, keys in
            let read = try await keys.token("read")
            let write = try await keys.token("write")
            let port = stack.port
            let answers = try await Task.detached {
                [
                    try RawWebSocket(port: port),
                    try RawWebSocket(port: port, headers: ["Sec-WebSocket-Protocol: rollcast.v1, bearer.\(read)"]),
                    try RawWebSocket(port: port, path: "/ws/realtime_charts?access_token=\(read)"),
                    try RawWebSocket(port: port, headers: ["Sec-WebSocket-Protocol: bearer.\(read.dropLast(4))AAAA"]),
                    try RawWebSocket(port: port, headers: ["Sec-WebSocket-Protocol: bearer.\(write)"]),
                ].map { socket in
                    let frame = socket.status == 101 ? try? socket.firstDataFrame() : nil
                    return (socket.status, socket.responseBody, socket.responseHead, frame?.bytes ?? 0)
                }
            }.value
            #expect(answers[0].0 == 401)
            #expect(answers[0].1.contains("this gateway needs a token"), "\(answers[0].1)")
            #expect(answers[1].0 == 101)
            #expect(answers[1].2.contains("Sec-WebSocket-Protocol: rollcast.v1\r\n"), "a browser needs one of its subprotocols chosen: \(answers[1].2)")
            #expect(!answers[1].2.contains(read), "the token is never echoed")
            #expect(answers[1].3 > 0, "a snapshot arrives")
            #expect(answers[2].0 == 101 && answers[2].3 > 0)
            #expect(answers[3].0 == 401)
            #expect(answers[3].1.contains("signature"), "\(answers[3].1)")
            #expect(answers[4].0 == 101, "a write token may read")
            #expect(stack.gateway!.log.contains("upgrade refused"))

            let shortLived = try await keys.token("read", ttl: "1s")
            let expired = try await poll("the 1 s token to be refused", within: .seconds(15)) { () -> (Int, String)? in
                let answer = try await Task.detached {
                    let socket = try RawWebSocket(port: port, headers: ["Sec-WebSocket-Protocol: rollcast.v1, bearer.\(shortLived)"])
                    return (socket.status, socket.responseBody)
                }.value
                return answer.0 == 101 ? nil : answer
            }
            #expect(expired.0 == 401)
            #expect(expired.1.contains("the token has expired"), "\(expired.1)")
        }
    }

    @Test("WebSocket: a connection is closed with 1008 when its token expires, and one with a longer token goes on")
    func expiryClosesTheStream() async throws {
        try await Self.withSecuredStack { stack, keys in
            // Long enough to be used however slowly a loaded machine starts the token command;
            // the close is then timed against the token's own expiry.
            let shortLived = try await keys.token("read", ttl: "8s")
            let expiry = try Self.expiry(of: shortLived)
            let longLived = try await keys.token("read")
            let port = stack.port
            let (close, closedAt, laterFrame) = try await Task.detached {
                let short = try RawWebSocket(port: port, timeout: 15, headers: ["Sec-WebSocket-Protocol: rollcast.v1, bearer.\(shortLived)"])
                let long = try RawWebSocket(port: port, timeout: 15, headers: ["Sec-WebSocket-Protocol: rollcast.v1, bearer.\(longLived)"])
                guard short.status == 101, long.status == 101 else { throw RawError("upgrades answered \(short.status) and \(long.status)") }
                let close = try short.closeFrame()
                let closedAt = Date()
                // Snapshots keep coming on the other connection after the first one was closed.
                var laterFrame = false
                while Date().timeIntervalSince(closedAt) < 5 {
                    _ = try long.firstDataFrame()
                    if Date() > closedAt {
                        laterFrame = true
                        break
                    }
                }
                return (close, closedAt, laterFrame)
            }.value
            #expect(close?.code == 1008, "\(String(describing: close))")
            #expect(close?.reason == "the token has expired; connect again with a new one")
            // At the token's expiry (whole seconds), not before, and not long after.
            let late = closedAt.timeIntervalSince(expiry)
            #expect(late > -0.2 && late < 2, "closed \(late) s after the token's expiry")
            #expect(laterFrame, "the connection with a longer token stopped too")
            // Counted once the connection has ended (this client leaves the close handshake to the gateway's timeout).
            _ = try await poll("the close counted as token_expired", within: .seconds(15)) { () -> Bool? in
                let metrics = try await stack.request(.GET, "/metrics", rawBody: nil, headers: Self.bearer(longLived)).body
                return metrics.contains(#"rollcast_gateway_clients_closed_total{reason="token_expired"} 1"#) ? true : nil
            }
            #expect(stack.gateway!.log.contains("client closed: its token expired"))
        }
    }

    @Test("a token limited to FX:* sees only those charts on the WebSocket, a subscription beyond them is the intersection, and its write of another symbol is refused whole")
    func symbolLimitedToken() async throws {
        try await Self.withSecuredStack(producerArguments: ["--mock-symbols", "AAPL,FX:EUR,FX:GBP", "--interval", "0.3"]) { stack, keys in
            let fx = try await keys.token("write", symbols: "FX:*")
            let port = stack.port
            let (whole, chosen, changed) = try await Task.detached { () -> ([String], [String], [String]) in
                func symbols(_ text: String) throws -> [String] {
                    if text.hasPrefix("{") {
                        guard case .full(_, _, let charts) = try JSONDecoder().decode(DeltaStreamMessage.self, from: Data(text.utf8)) else { return [] }
                        return charts.map(\.symbol)
                    }
                    return try JSONDecoder().decode([ChartObject].self, from: Data(text.utf8)).map(\.symbol)
                }
                let whole = try RawWebSocket(port: port, path: "/ws/realtime_charts?access_token=\(fx)")
                let chosen = try RawWebSocket(port: port, path: "/ws/realtime_charts?symbols=AAPL,FX:EUR&access_token=\(fx)")
                let delta = try RawWebSocket(port: port, path: "/ws/realtime_charts?access_token=\(fx)", headers: ["Sec-WebSocket-Protocol: rollcast.delta.v1"])
                _ = try delta.nextText()
                try delta.sendFrame(opcode: 1, payload: Array(#"{"unsubscribe":["*"],"subscribe":["AAPL","FX:GBP"]}"#.utf8))
                var changed = try delta.nextText()
                while !changed.hasPrefix(#"{"kind":"full""#) { changed = try delta.nextText() }
                return (try symbols(whole.nextText()), try symbols(chosen.nextText()), try symbols(changed))
            }.value
            #expect(whole == ["FX:EUR", "FX:GBP"])
            #expect(chosen == ["FX:EUR"])
            #expect(changed == ["FX:GBP"])
            let write = try await stack.request(
                .POST, "/api/ingest", rawBody: Array(#"{"ticks":[{"symbol":"FX:EUR","t":\#(Date().timeIntervalSince1970),"price":1},{"symbol":"AAPL","t":\#(Date().timeIntervalSince1970),"price":1}]}"#.utf8),
                headers: Self.bearer(fx)
            )
            #expect(write.status == .forbidden)
            #expect(write.errorReason == "ticks[1]: this token may not write symbol 'AAPL'; the batch was not applied")
            let refusedSymbols = try await TokenTests.gatewayCommand(["--jwt-secret-file", keys.path, "token", "--symbols", "A B"])
            #expect(refusedSymbols.status != 0)
            #expect(refusedSymbols.text.contains("--symbols: symbols entry 1 ('A B')"), "\(refusedSymbols.text)")
        }
    }

    @Test("a gateway other machines can reach will not start without a key; a key others can read, or a short one, is refused")
    func startupRules() async throws {
        let directory = "/tmp/rcs-\(UUID().uuidString.prefix(8).lowercased())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let open = try await Self.gatewayCommand(["--run-dir", directory, "--host", "0.0.0.0", "--port", "0"])
        #expect(open.status != 0)
        #expect(open.text.contains("--host 0.0.0.0 can be reached from other machines: give --jwt-secret-file"), "\(open.text)")

        let shared = try Keys(in: directory, name: "shared.key", mode: 0o644)
        let readable = try await Self.gatewayCommand(["--run-dir", directory, "--port", "0", "--jwt-secret-file", shared.path])
        #expect(readable.status != 0)
        #expect(readable.text.contains("may be read by others (mode 644); run: chmod 600"), "\(readable.text)")

        let short = try Keys(in: directory, name: "short.key", bytes: 12)
        let weak = try await Self.gatewayCommand(["--run-dir", directory, "--port", "0", "--jwt-secret-file", short.path])
        #expect(weak.status != 0)
        #expect(weak.text.contains("holds 12 bytes; a key needs at least 32"), "\(weak.text)")

        let good = try Keys(in: directory, name: "good.key")
        let noUnit = try await Self.gatewayCommand(["--jwt-secret-file", good.path, "token", "--ttl", "8"])
        #expect(noUnit.status != 0)
        #expect(noUnit.text.contains("--ttl must be a number with a unit"), "\(noUnit.text)")
        let badRole = try await Self.gatewayCommand(["--jwt-secret-file", good.path, "token", "--role", "admin"])
        #expect(badRole.status != 0)
        #expect(badRole.text.contains("--role must be read or write"), "\(badRole.text)")
    }
}
