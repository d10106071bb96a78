import Foundation
import RollcastCore
import Testing

/// `/sse/realtime_charts` against a real gateway: the same messages as the WebSocket streams,
/// resumption, tokens, slow clients and shutdown.
@Suite("Server-Sent Events", .serialized, .timeLimit(.minutes(2)))
struct EventStreamTests {
    struct Streams: Sendable {
        var webSocketFull: [String] = []
        var webSocketDelta: [String] = []
        var eventsFull: [EventStreamClient.Event] = []
        var eventsDelta: [EventStreamClient.Event] = []
        var eventsChosen: [EventStreamClient.Event] = []
        var retry: Int?
    }

    /// `count` messages from each: the WebSocket full and delta streams, SSE full and delta, and SSE delta of `A*`.
    static func receive(_ count: Int, port: Int) throws -> Streams {
        let webSocketFull = try RawWebSocket(port: port)
        let webSocketDelta = try RawWebSocket(port: port, headers: ["Sec-WebSocket-Protocol: rollcast.delta.v1"])
        let full = try EventStreamClient(port: port)
        let delta = try EventStreamClient(port: port, path: "/sse/realtime_charts?stream=delta")
        let chosen = try EventStreamClient(port: port, path: "/sse/realtime_charts?stream=delta&symbols=A*")
        for client in [full, delta, chosen] {
            #expect(client.status == 200, "\(client.responseHead)")
            #expect(client.header("content-type") == "text/event-stream")
        }
        var streams = Streams()
        for _ in 0..<count {
            streams.webSocketFull.append(try webSocketFull.nextText())
            streams.webSocketDelta.append(try webSocketDelta.nextText())
            streams.eventsFull.append(try full.nextEvent())
            streams.eventsDelta.append(try delta.nextEvent())
            streams.eventsChosen.append(try chosen.nextEvent())
        }
        streams.retry = full.retry
        return streams
    }

    @Test("SSE full and delta carry the WebSocket streams' messages byte for byte at every seq, named by kind with id run:seq; a selection's deltas rebuild it")
    func sameAsWebSocket() async throws {
        try await RollcastStack.with(producerArguments: ["--mock-symbols", "A1,A2,B1", "--mock-rate", "5", "--interval", "0.2", "--window", "10"]) { stack in
            try await stack.waitUntilReady()
            let port = stack.port
            let streams = try await Task.detached { try Self.receive(12, port: port) }.value
            try Self.check(streams)
        }
    }

    static func check(_ streams: Streams) throws {
        #expect(streams.retry == 1_000, "the stream says how long to wait before reconnecting")
        let webSocketFull = Dictionary(streams.webSocketFull.map { (WebSocketProbe.seq(of: $0) ?? 0, $0) }) { first, _ in first }
        var compared = 0
        for event in streams.eventsFull {
            let seq = try #require(WebSocketProbe.seq(of: event.data))
            #expect(event.name == "full")
            #expect(event.id?.hasSuffix(":\(seq)") == true, "\(event.id ?? "no id")")
            guard let reference = webSocketFull[seq] else { continue }
            #expect(event.data == reference, "full stream at seq \(seq)")
            compared += 1
        }
        #expect(compared >= 10, "full stream compared at \(compared) seqs")

        let decoder = JSONDecoder()
        let webSocketDelta = Dictionary(streams.webSocketDelta.map { (WebSocketProbe.seq(of: $0) ?? 0, $0) }) { first, _ in first }
        compared = 0
        var unfiltered = DeltaStreamCharts()
        for event in streams.eventsDelta {
            let message = try decoder.decode(DeltaStreamMessage.self, from: Data(event.data.utf8))
            try unfiltered.apply(message)
            let kind = if case .full = message { "full" } else { "delta" }
            #expect(event.name == kind)
            let runID = event.data.range(of: #""run_id":""#).map { event.data[$0.upperBound...].prefix { $0 != "\"" } } ?? ""
            #expect(event.id == "\(runID):\(message.seq)")
            // Both streams' message at a seq is the same one when it is of the same kind.
            guard let reference = webSocketDelta[message.seq], reference.hasPrefix(#"{"kind":"\#(kind)""#) else { continue }
            #expect(event.data == reference, "delta stream at seq \(message.seq)")
            compared += 1
        }
        #expect(compared >= 10, "delta stream compared at \(compared) seqs")
        #expect(streams.eventsDelta.dropFirst().allSatisfy { $0.name == "delta" }, "one full event, then deltas")

        var chosen = DeltaStreamCharts()
        for event in streams.eventsChosen {
            let message = try decoder.decode(DeltaStreamMessage.self, from: Data(event.data.utf8))
            try chosen.apply(message)
            guard let reference = webSocketFull[message.seq] else { continue }
            let expected = try decoder.decode([ChartObject].self, from: Data(reference.utf8)).filter { $0.symbol.hasPrefix("A") }
            #expect(chosen.sorted == expected.sorted { $0.symbol < $1.symbol }, "A* rebuilt at seq \(message.seq)")
        }
        #expect(chosen.sorted.map(\.symbol) == ["A1", "A2"])
    }

    @Test("Last-Event-ID of the event last sent resumes with a delta on it; an older id or none starts with full")
    func resume() async throws {
        try await RollcastStack.with(producerArguments: ["--mock-symbols", "R1,R2", "--mock-rate", "5", "--interval", "1", "--window", "10"]) { stack in
            try await stack.waitUntilReady()
            let port = stack.port
            try await Task.detached {
                let first = try EventStreamClient(port: port, path: "/sse/realtime_charts?stream=delta")
                _ = try first.nextEvent()
                // Right after an event arrives the next is an interval away: a reconnect now holds the latest.
                let last = try first.nextEvent()
                let id = try #require(last.id)
                let resumed = try EventStreamClient(port: port, path: "/sse/realtime_charts?stream=delta", headers: ["Last-Event-ID: \(id)"])
                let next = try resumed.nextEvent()
                #expect(next.name == "delta", "\(next.data.prefix(120))")
                #expect(next.data.contains(#""base_seq":\#(id.split(separator: ":").last!)"#), "a delta on the event the client holds: \(next.data.prefix(160))")

                let seq = UInt64(id.split(separator: ":").last!)!
                let older = try EventStreamClient(port: port, path: "/sse/realtime_charts?stream=delta", headers: ["Last-Event-ID: \(id.split(separator: ":")[0]):\(seq - 1)"])
                #expect(try older.nextEvent().name == "full")
                let unknown = try EventStreamClient(port: port, path: "/sse/realtime_charts?stream=delta", headers: ["Last-Event-ID: not-ours"])
                #expect(try unknown.nextEvent().name == "full")
            }.value
        }
    }

    @Test("refusals before the stream: a bad stream or symbols 400, a foreign Origin 403, POST 405; a later request on a kept-alive connection is sent back with Connection: close")
    func refusals() async throws {
        try await RollcastStack.with(producerArguments: ["--mock-symbols", "S1", "--interval", "0.3"]) { stack in
            try await stack.waitUntilReady()
            let port = stack.port
            try await Task.detached {
                let bad = try EventStreamClient(port: port, path: "/sse/realtime_charts?stream=deltas")
                #expect(bad.status == 400)
                #expect(bad.responseBody == #"{"error":"stream must be full or delta, not deltas"}"#)
                #expect(bad.header("x-content-type-options") == "nosniff")
                let badSymbols = try EventStreamClient(port: port, path: "/sse/realtime_charts?symbols=S%201")
                #expect(badSymbols.status == 400, "\(badSymbols.responseBody)")
                let foreign = try EventStreamClient(port: port, headers: ["Origin: https://elsewhere.example"])
                #expect(foreign.status == 403, "\(foreign.responseBody)")

                // A plain request first, then the stream's on the same connection.
                let socket = try RawWebSocket.connectedSocket(port: port, timeout: 5)
                defer { close(socket) }
                let requests = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET /sse/realtime_charts?symbols=S1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
                _ = requests.withCString { send(socket, $0, strlen($0), 0) }
                var answer = [UInt8](repeating: 0, count: 4096)
                var text = ""
                while !text.contains("HTTP/1.1 307"), !text.hasSuffix("\r\n\r\n") || !text.contains("307") {
                    let got = recv(socket, &answer, answer.count, 0)
                    guard got > 0 else { break }
                    text += String(decoding: answer[..<got], as: UTF8.self)
                }
                #expect(text.contains("HTTP/1.1 307"), "\(text)")
                #expect(text.lowercased().contains("location: /sse/realtime_charts?symbols=s1"))
                #expect(text.lowercased().contains("connection: close"))
            }.value
            let post = try await stack.request(.POST, "/sse/realtime_charts", body: "{}")
            #expect(post.status == .methodNotAllowed)
            #expect(post.headers.first(name: "allow") == "GET")
        }
    }

    @Test("tokens: none gets 401 naming where to put one; ?access_token= or Authorization works; a token limited to FX:* sees only those")
    func tokens() async throws {
        try await TokenTests.withSecuredStack(producerArguments: ["--mock-symbols", "FX:EUR,FX:GBP,AAPL", "--interval", "0.3"]) { stack, keys in
            let read = try await keys.token("read")
            let fx = try await keys.token("read", symbols: "FX:*")
            let port = stack.port
            try await Task.detached {
                let none = try EventStreamClient(port: port)
                #expect(none.status == 401)
                #expect(none.responseBody.contains("this gateway needs a token"), "\(none.responseBody)")
                #expect(none.header("www-authenticate")?.hasPrefix("Bearer") == true)

                let byHeader = try EventStreamClient(port: port, headers: ["Authorization: Bearer \(read)"])
                let all = try SubscriptionTests.chartTexts(try byHeader.nextEvent().data).map(\.symbol)
                #expect(all.sorted() == ["AAPL", "FX:EUR", "FX:GBP"])

                let limited = try EventStreamClient(port: port, path: "/sse/realtime_charts?access_token=\(fx)")
                #expect(limited.status == 200, "\(limited.responseBody)")
                for _ in 0..<3 {
                    #expect(try SubscriptionTests.chartTexts(try limited.nextEvent().data).map(\.symbol).sorted() == ["FX:EUR", "FX:GBP"])
                }
                // A choice beyond the token is the intersection.
                let beyond = try EventStreamClient(port: port, path: "/sse/realtime_charts?symbols=AAPL,FX:EUR&access_token=\(fx)")
                #expect(try SubscriptionTests.chartTexts(try beyond.nextEvent().data).map(\.symbol) == ["FX:EUR"])
            }.value
        }
    }

    @Test("a client that never reads delays no one: other SSE clients get every ~1.4 MB snapshot, and the stuck one is closed as too slow")
    func slowReader() async throws {
        try await RollcastStack.with(producerArguments: ReliabilityTests.bigSnapshots, gatewayArguments: ["--slow-client-timeout", "3"]) { stack in
            try await stack.waitUntilReady(within: .seconds(30))
            let port = stack.port
            let stuck = try EventStreamClient(port: port, receiveBuffer: 4096)
            #expect(stuck.status == 200)
            let received = try await withThrowingTaskGroup(of: [UInt64].self) { group in
                for _ in 0..<5 {
                    group.addTask {
                        try await Task.detached {
                            let client = try EventStreamClient(port: port, timeout: 10)
                            return try (0..<8).map { _ in try WebSocketProbe.seq(of: client.nextEvent().data) ?? 0 }
                        }.value
                    }
                }
                var all: [[UInt64]] = []
                for try await seqs in group { all.append(seqs) }
                return all
            }
            for seqs in received {
                #expect(zip(seqs, seqs.dropFirst()).allSatisfy { $1 == $0 + 1 }, "seq gap: \(seqs)")
            }
            _ = try await poll("the stuck client to be closed", within: .seconds(15)) { () -> Bool? in
                try await stack.request(.GET, "/api/status").body.contains(#""slow_clients_closed":1"#) ? true : nil
            }
            _ = stuck
        }
    }

    @Test("SIGTERM ends every stream with its last chunk before the gateway exits")
    func shutdown() async throws {
        try await RollcastStack.with(producerArguments: ["--mock-symbols", "S1", "--interval", "0.3"]) { stack in
            try await stack.waitUntilReady()
            let port = stack.port
            let client = try await Task.detached { () -> EventStreamClient in
                let client = try EventStreamClient(port: port, path: "/sse/realtime_charts?stream=delta")
                _ = try client.nextEvent()
                return client
            }.value
            let gateway = try #require(stack.gateway)
            let ending = Task.detached { try client.readToEnd() }
            let exit = await gateway.stop(deadline: .seconds(2))
            #expect(exit == 0, "the gateway stopped cleanly within 2 s")
            #expect(try await ending.value, "the stream ended with its last chunk, not a dropped connection")
        }
    }
}
