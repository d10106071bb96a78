import Foundation
import Testing

@Suite("Slow and idle HTTP connections", .serialized, .timeLimit(.minutes(2)))
struct HTTPHardeningTests {
    /// Reads until the server closes the connection; `true` if it did within `limit` seconds.
    static func closedByServer(_ socket: Int32, within limit: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(limit)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while Date() < deadline {
            let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            if count == 0 { return true }
            if count < 0, errno != EAGAIN, errno != EWOULDBLOCK { return true }
        }
        return false
    }

    @Test("half-sent request heads (slowloris) and idle keep-alive connections are closed after --idle-timeout")
    func slowAndIdle() async throws {
        try await RollcastStack.with(gatewayArguments: ["--idle-timeout", "1"]) { stack in
            try await stack.waitUntilReady()
            let port = stack.port
            let (slow, idle, started) = try await Task.detached { () -> ([Bool], Bool, Date) in
                let started = Date()
                let sockets = try (0..<50).map { _ in try RawWebSocket.connectedSocket(port: port, timeout: 0.2) }
                defer { sockets.forEach { close($0) } }
                for socket in sockets {
                    _ = Array("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ".utf8).withUnsafeBytes { send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                }
                let keepAlive = try RawWebSocket.connectedSocket(port: port, timeout: 0.2)
                defer { close(keepAlive) }
                _ = Array("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\n\r\n".utf8).withUnsafeBytes { send(keepAlive, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                return (sockets.map { Self.closedByServer($0, within: 5) }, Self.closedByServer(keepAlive, within: 5), started)
            }.value
            #expect(slow.allSatisfy { $0 }, "\(slow.filter { !$0 }.count) of 50 half-sent requests still open after 5 s")
            #expect(idle, "an idle keep-alive connection was not closed")
            #expect(Date().timeIntervalSince(started) < 12)
            #expect(try await stack.request(.GET, "/healthz").status == .ok, "and everyone else is served")
        }
    }

    @Test("past --max-clients plus --max-http-connections, new connections are closed at once; the open ones are served")
    func connectionCap() async throws {
        try await RollcastStack.with(gatewayArguments: ["--max-clients", "5", "--max-http-connections", "20", "--idle-timeout", "30"]) { stack in
            try await stack.waitUntilReady()
            let port = stack.port
            let (openedBefore, refused) = try await Task.detached { () -> (Int, Bool) in
                // 25 connections that send nothing fill the gateway's 5 + 20.
                let held = try (0..<25).map { _ in try RawWebSocket.connectedSocket(port: port, timeout: 0.5) }
                defer { held.forEach { close($0) } }
                usleep(300_000)
                let extra = try RawWebSocket.connectedSocket(port: port, timeout: 2)
                defer { close(extra) }
                return (held.count, Self.closedByServer(extra, within: 2))
            }.value
            #expect(openedBefore == 25)
            #expect(refused, "the 26th connection was left open")
            // Once they are gone, connections are taken again.
            let status = try await poll("the gateway to take connections again", within: .seconds(15)) { () -> String? in
                (try? await stack.request(.GET, "/api/status"))?.body
            }
            #expect(status.contains(#""connections_refused":"#), "\(status)")
            #expect(!status.contains(#""connections_refused":0"#), "the refusal was counted: \(status)")
        }
    }

    @Test("under an open-file limit below the connection caps, connections past what it holds are closed at once and the gateway goes on serving")
    func fileLimitCutsTheCap() async throws {
        // 400 descriptors: 256 kept for the gateway's own, 144 for connections (not 10,000 + 1,000).
        try await RollcastStack.with(gatewayArguments: ["--idle-timeout", "30"], gatewayFileLimit: 400) { stack in
            try await stack.waitUntilReady()
            #expect(stack.gateway!.log.contains("the open-file limit holds fewer connections"), "\(stack.gateway!.log.suffix(2000))")
            #expect(stack.gateway!.log.contains("max_connections=144"))
            let port = stack.port
            let closedAtOnce = try await Task.detached { () -> Int in
                let held = try (0..<200).map { _ in try RawWebSocket.connectedSocket(port: port, timeout: 2) }
                defer { held.forEach { close($0) } }
                var byte: UInt8 = 0
                // Without waiting: 0 is the end of the stream (closed), -1 with EAGAIN still open.
                func closed() -> Int { held.filter { recv($0, &byte, 1, Int32(MSG_DONTWAIT)) == 0 }.count }
                // Until the gateway has closed what it cannot hold (on a loaded machine that takes
                // a while); a close, once seen, stays.
                let deadline = Date().addingTimeInterval(10)
                while closed() < 200 - 144, Date() < deadline { usleep(20_000) }
                return closed()
            }.value
            // 144 at most, less the test's own kept-alive HTTP connections.
            #expect((140...144).contains(200 - closedAtOnce), "\(200 - closedAtOnce) of 200 held, \(closedAtOnce) closed at once")
            let status = try await poll("the gateway to take connections again", within: .seconds(15)) { () -> String? in
                (try? await stack.request(.GET, "/api/status"))?.body
            }
            #expect(!status.contains(#""connections_refused":0"#), "the refusals were counted: \(status)")
        }
    }

    @Test("an open-file limit too low for the default caps stops the gateway at start with a one-line reason")
    func fileLimitTooLow() async throws {
        let directory = "/tmp/rcf-\(UUID().uuidString.prefix(8).lowercased())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let gateway = try RollcastProcess(
            executable: "rollcast-gateway", arguments: ["--run-dir", directory, "--port", "0"], logPath: "\(directory)/gateway.log", fileLimit: 300
        )
        #expect(await gateway.waitForExit(within: .seconds(15)))
        #expect(gateway.process.terminationStatus != 0)
        #expect(gateway.log.contains("the open-file limit is 300: with 256 kept for the gateway's own files and sockets, that leaves room for 44 connections"), "\(gateway.log)")
    }

    @Test("an oversized body gets 413 and the connection closed: sent whole with Connection: close, announced with Expect: 100-continue, or half sent")
    func oversizedBody() async throws {
        try await RollcastStack.with { stack in
            try await stack.waitUntilReady()
            let port = stack.port
            let answers = try await Task.detached { () -> [(String, TimeInterval)] in
                let head = "POST /api/ingest HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nContent-Type: application/json\r\nContent-Length: \(16 << 20)\r\n"
                var answers: [(String, TimeInterval)] = []
                for (extra, sent) in [("Connection: close\r\n", 16 << 20), ("Expect: 100-continue\r\n", 0), ("", 3 << 20)] {
                    let socket = try RawWebSocket.connectedSocket(port: port, timeout: 10)
                    defer { close(socket) }
                    let started = Date()
                    var request = Array((head + extra + "\r\n").utf8)
                    request += [UInt8](repeating: 0x20, count: sent)
                    var offset = 0
                    while offset < request.count {
                        let written = request[offset...].withUnsafeBytes { send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                        guard written > 0 else { break }
                        offset += written
                    }
                    var answer: [UInt8] = []
                    var buffer = [UInt8](repeating: 0, count: 4096)
                    while true {
                        let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
                        if count <= 0 { break }
                        answer += buffer[..<count]
                    }
                    answers.append((String(decoding: answer, as: UTF8.self), Date().timeIntervalSince(started)))
                }
                return answers
            }.value
            for (answer, seconds) in answers {
                #expect(answer.hasPrefix("HTTP/1.1 413"), "\(answer.prefix(100))")
                #expect(answer.hasSuffix(#"{"error":"request body is larger than 1048576 bytes"}"#))
                // Closed by the gateway: the read above ended before the socket's 10 s timeout.
                #expect(seconds < 5, "closed after \(seconds) s")
            }
        }
    }

    @Test("a body announced with Expect: 100-continue gets 100 Continue at once, then its answer")
    func expectContinue() async throws {
        try await RollcastStack.with { stack in
            try await stack.waitUntilReady()
            let port = stack.port
            let (interim, final, waited) = try await Task.detached { () -> (String, String, TimeInterval) in
                let body = #"{"ticks":[{"symbol":"CONT","t":\#(Date().timeIntervalSince1970),"price":1}]}"#
                let head = "POST /api/ingest HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nContent-Type: application/json\r\n"
                    + "Content-Length: \(body.utf8.count)\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n"
                let socket = try RawWebSocket.connectedSocket(port: port, timeout: 5)
                defer { close(socket) }
                func sendAll(_ text: String) {
                    let bytes = Array(text.utf8)
                    _ = bytes.withUnsafeBytes { send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                }
                func receive() -> String {
                    var buffer = [UInt8](repeating: 0, count: 4096)
                    let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
                    return count > 0 ? String(decoding: buffer[..<count], as: UTF8.self) : ""
                }
                let started = Date()
                sendAll(head)
                // Nothing of the body is sent until the gateway says to go on.
                let interim = receive()
                let waited = Date().timeIntervalSince(started)
                sendAll(body)
                var final = ""
                while true {
                    let more = receive()
                    if more.isEmpty { break }
                    final += more
                }
                return (interim, final, waited)
            }.value
            #expect(interim.hasPrefix("HTTP/1.1 100 Continue\r\n"), "\(interim.prefix(60))")
            #expect(waited < 0.5, "the 100 came after \(waited) s")
            #expect(final.hasPrefix("HTTP/1.1 200"), "\(final.prefix(100))")
            #expect(final.contains(#""new_symbols":["CONT"]"#))
        }
    }
}
