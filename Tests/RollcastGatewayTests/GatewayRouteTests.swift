import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import RollcastCore
import RollcastProducer
import Synchronization
import Testing

@testable import RollcastGateway

/// Producers as the routes reach them: each request is kept, with the endpoint it was sent to,
/// and answered by `reply` at once.
final class FakeProducers: ProducerControl {
    let defaultTarget = ControlTarget(endpoint: "ipc:///fake/control.sock", curve: nil)
    private let reply: @Sendable (ControlRequest, ControlTarget) throws -> ControlReply
    private let sent = Mutex<[(endpoint: String, request: ControlRequest)]>([])

    init(reply: @escaping @Sendable (ControlRequest, ControlTarget) throws -> ControlReply = { _, _ in ControlReply() }) {
        self.reply = reply
    }

    var requests: [(endpoint: String, request: ControlRequest)] { sent.withLock { $0 } }

    /// The ingest batches received, as text, by endpoint.
    var batches: [(endpoint: String, body: String)] {
        requests.compactMap { sent in
            guard case .ingest(let batch) = sent.request else { return nil }
            return (sent.endpoint, String(decoding: batch, as: UTF8.self))
        }
    }

    func send(_ request: ControlRequest, to target: ControlTarget, timeout: Duration) async throws -> ControlAnswer {
        sent.withLock { $0.append((target.endpoint, request)) }
        let reply = try reply(request, target)
        return ControlAnswer(reply: reply, json: try reply.encoded())
    }
}

/// A gateway's application with every collaborator in process: no sockets, no producer.
struct RouteHarness {
    let configuration: GatewayConfiguration
    let services: GatewayServices
    let producers: FakeProducers

    init(
        producers: FakeProducers = FakeProducers(), authority: TokenAuthority? = nil, enableTestAPI: Bool = false, maxIngestBytes: Int = 1 << 20
    ) throws {
        let webRoot = FileManager.default.temporaryDirectory.appendingPathComponent("rollcast-routes-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: webRoot, withIntermediateDirectories: true)
        try Data("<!doctype html><title>Rollcast</title>".utf8).write(to: webRoot.appendingPathComponent("index.html"))
        var configuration = GatewayConfiguration(
            snapshotEndpoints: ["ipc:///fake/snapshots.sock"], controlEndpoint: producers.defaultTarget.endpoint, webRoot: webRoot.path,
            enableTestAPI: enableTestAPI
        )
        configuration.maxIngestBytes = maxIngestBytes
        self.configuration = configuration
        let metrics = GatewayMetrics()
        services = GatewayServices(
            broadcaster: SnapshotBroadcaster(metrics: metrics), control: producers, registry: ClientRegistry(), metrics: metrics, authority: authority
        )
        self.producers = producers
    }

    func test(_ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        defer { try? FileManager.default.removeItem(atPath: configuration.webRoot) }
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let app = buildApplication(configuration: configuration, services: services, maxConnections: 100, logger: logger)
        try await app.test(.router, body)
    }

    /// Publishes a message holding every producer's charts, as the subscriber would.
    /// - Parameter producers: each producer's name, control endpoint and symbols; one unnamed producer for a plain gateway.
    func publish(_ producers: [(name: String?, control: String?, symbols: [String])], seq: UInt64 = 1) {
        var merger = SnapshotMerger(forgetAfter: .seconds(60))
        var merged: MergedSnapshot?
        let now = Int64(Date().timeIntervalSince1970 * 1_000)
        for producer in producers {
            let series = producer.symbols.map { SeriesSnapshot(symbol: $0, ticks: [Tick(time: Double(now) / 1_000, price: 1)]) }
            let header = SnapshotHeader(
                seq: seq, runID: "0000000\(producers.count)", generatedAt: now, intervalMilliseconds: 60_000, charts: series.count, producer: producer.name,
                control: producer.control.map { ControlAddress(endpoint: $0) }
            )
            let payload = ByteBuffer(bytes: SnapshotEncoder().encode(series, header: header, windowSeconds: 60))
            if case .publish(let message) = merger.accept(header: header, payload: payload, delta: nil, receivedAt: .now) { merged = message }
        }
        let message = merged!
        services.broadcaster.publish(Self.relayed(header: message.header, payload: message.payload, delta: nil, sources: message.sources))
    }

    /// A message as the subscriber relays it.
    static func relayed(header: SnapshotHeader, payload: ByteBuffer, delta: ByteBuffer?, sources: [ProducerSource] = []) -> RelayedSnapshot {
        RelayedSnapshot(
            header: header, payload: payload, fullStream: ClientFrames(payload, deflater: nil), receivedAt: .now,
            deltaStream: DeltaStreamFrames(header: header, payload: payload, delta: delta, compress: false), sources: sources, delta: delta
        )
    }
}

extension TestResponse {
    var text: String { String(buffer: body) }
    var errorReason: String? {
        (try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any])?["error"] as? String
    }
}

let json: HTTPFields = [.contentType: "application/json"]

@Suite("Gateway routes, in process", .timeLimit(.minutes(1)))
struct GatewayRouteTests {
    @Test("every refusal has its status, a JSON reason and the hardening headers")
    func refusals() async throws {
        let harness = try RouteHarness(maxIngestBytes: 1_024)
        try await harness.test { client in
            let cases: [(method: HTTPRequest.Method, path: String, headers: HTTPFields, body: String?, status: HTTPResponse.Status, reason: String)] = [
                (.post, "/api/realtime_window", json, "{}", .methodNotAllowed, "POST is not allowed on /api/realtime_window; use GET, HEAD"),
                (.head, "/ws/realtime_charts", [:], nil, .methodNotAllowed, "HEAD is not allowed on /ws/realtime_charts; use GET"),
                (.get, "/api/nothing-here", [:], nil, .notFound, "no such route: /api/nothing-here"),
                (.get, "/ws/realtime_charts", [:], nil, .upgradeRequired, "this endpoint speaks WebSocket only"),
                (.post, "/api/test/load_mock_data", json, "{}", .notFound, "no such route: /api/test/load_mock_data"),
                (.get, "/api/realtime_window", [:], nil, .serviceUnavailable, "no snapshot has arrived from the producer yet"),
                (.get, "/a%00b", [:], nil, .badRequest, "the path holds a control character"),
                (
                    .post, "/api/ingest", [.contentType: "text/plain"], "{}", .unsupportedMediaType,
                    "a request body must be sent as Content-Type: application/json; got 'text/plain'"
                ),
                (
                    .post, "/api/ingest", [.contentType: "application/json", .origin: "https://elsewhere.example"], "{}", .forbidden,
                    "requests from origin 'https://elsewhere.example' are not allowed; start the gateway with --allowed-origin to allow one"
                ),
                (.post, "/api/ingest", json, String(repeating: " ", count: 1_025), .contentTooLarge, "request body is larger than 1024 bytes"),
            ]
            for item in cases {
                try await client.execute(uri: item.path, method: item.method, headers: item.headers, body: item.body.map { ByteBuffer(string: $0) }) {
                    response in
                    #expect(response.status == item.status, "\(item.method) \(item.path): \(response.text)")
                    if item.method != .head {
                        #expect(response.errorReason == item.reason, "\(item.method) \(item.path)")
                    }
                    #expect(response.headers[.contentType] == "application/json; charset=utf-8", "\(item.method) \(item.path)")
                    #expect(response.headers[.xContentTypeOptions] == "nosniff")
                }
            }
            try await client.execute(uri: "/api/realtime_window", method: .post, headers: json, body: ByteBuffer(string: "{}")) { response in
                #expect(response.headers[.allow] == "GET, HEAD")
            }
            try await client.execute(uri: "/ws/realtime_charts", method: .get) { response in
                #expect(response.headers[.upgrade] == "websocket")
            }
            try await client.execute(uri: "/api/ingest", method: .post, headers: json, body: ByteBuffer(string: String(repeating: " ", count: 1_025))) {
                response in
                #expect(response.headers[.connection] == "close")
            }
        }
        // None of these reached a producer.
        #expect(harness.producers.requests.isEmpty)
    }

    @Test("the test API checks its body before a producer sees it: each refusal names what is wrong")
    func mockDataRefusals() async throws {
        let harness = try RouteHarness(enableTestAPI: true)
        try await harness.test { client in
            let cases: [(body: String, status: HTTPResponse.Status, reason: String)] = [
                ("{nope", .badRequest, "body is not valid JSON"),
                (#"{"symbols":["A"],"colour":"red"}"#, .badRequest, "unknown field 'colour'; expected symbols, points, seed"),
                (#"{"symbols":[]}"#, .badRequest, "symbols must not be empty"),
                (#"{"points":1000000}"#, .badRequest, "points must be between 0 and 100000"),
                (#"{"symbols":"A"}"#, .badRequest, "'symbols' must be a list"),
                (String(repeating: " ", count: 70_000), .contentTooLarge, "request body is larger than 65536 bytes"),
            ]
            for item in cases {
                try await client.execute(uri: "/api/test/load_mock_data", method: .post, headers: json, body: ByteBuffer(string: item.body)) { response in
                    #expect(response.status == item.status, "\(item.body.prefix(40)): \(response.text)")
                    #expect(response.errorReason == item.reason, "\(item.body.prefix(40))")
                }
            }
            try await client.execute(uri: "/api/test/load_mock_data", method: .get) { response in
                #expect(response.status == .methodNotAllowed)
                #expect(response.headers[.allow] == "POST")
                #expect(response.errorReason == "GET is not allowed on /api/test/load_mock_data; use POST")
            }
        }
        #expect(harness.producers.requests.isEmpty)
    }

    @Test("pages carry the Content-Security-Policy, API answers do not; HEAD answers as GET without a body")
    func pageHeaders() async throws {
        let harness = try RouteHarness()
        try await harness.test { client in
            for (path, csp) in [("/", true), ("/index.html", true), ("/metrics", true), ("/api/status", false), ("/healthz", false), ("/readyz", false)] {
                try await client.execute(uri: path, method: .get) { response in
                    #expect(response.headers[.contentSecurityPolicy] == (csp ? HardeningMiddleware<BasicRequestContext>.contentSecurityPolicy : nil), "\(path)")
                    #expect(response.headers[.xContentTypeOptions] == "nosniff", "\(path)")
                }
            }
            try await client.execute(uri: "/healthz", method: .head) { response in
                #expect(response.status == .ok)
                #expect(response.body.readableBytes == 0)
                #expect(response.headers[.contentType] == "application/json; charset=utf-8")
            }
        }
    }

    @Test("with tokens on, each route asks for its role; the dashboard, /healthz and /readyz ask for none")
    func roles() async throws {
        let authority = await TokenAuthority(key: AccessTokenTests.key)
        let read = try await authority.issue(role: .read, ttl: .seconds(60))
        let write = try await authority.issue(role: .write, ttl: .seconds(60))
        let harness = try RouteHarness(
            producers: FakeProducers { request, _ in request.isIngest ? ControlReply(ingested: IngestResult(appended: 1)) : ControlReply() },
            authority: authority
        )
        try await harness.test { client in
            func status(_ method: HTTPRequest.Method, _ path: String, token: String?) async throws -> (HTTPResponse.Status, TestResponse) {
                var headers = json
                if let token { headers[.authorization] = "Bearer \(token)" }
                return try await client.execute(uri: path, method: method, headers: headers, body: method == .post ? ByteBuffer(string: "{}") : nil) {
                    ($0.status, $0)
                }
            }
            for path in ["/", "/healthz", "/readyz"] {
                #expect(try await status(.get, path, token: nil).0 != .unauthorized, "\(path)")
            }
            for path in ["/api/status", "/metrics", "/api/realtime_window", "/ws/realtime_charts"] {
                let (code, response) = try await status(.get, path, token: nil)
                #expect(code == .unauthorized, "\(path)")
                #expect(response.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true, "\(path)")
                #expect(try await status(.get, path, token: read).0 != .unauthorized, "\(path)")
            }
            let (forbidden, answer) = try await status(.post, "/api/ingest", token: read)
            #expect(forbidden == .forbidden)
            #expect(answer.errorReason == "this needs a write token; this one is read")
            #expect(try await status(.post, "/api/ingest", token: write).0 == .ok)
            // Under /api/test/ a write token is asked for before anything else, the route served or not.
            #expect(try await status(.post, "/api/test/load_mock_data", token: read).0 == .forbidden)
            #expect(try await status(.post, "/api/test/anything", token: write).0 == .notFound)
        }
        #expect(harness.producers.batches.map(\.body) == ["{}"])
    }

    @Test("a token limited to FX:*: the realtime window holds only those charts; its write of another symbol is refused whole, naming the tick; a bad claim is refused")
    func symbolLimitedToken() async throws {
        let authority = await TokenAuthority(key: AccessTokenTests.key)
        let reader = try await authority.issue(role: .read, ttl: .seconds(60), symbols: "FX:*")
        let writer = try await authority.issue(role: .write, ttl: .seconds(60), symbols: "FX:*,AAPL")
        let harness = try RouteHarness(
            producers: FakeProducers { request, _ in request.isIngest ? ControlReply(ingested: IngestResult(appended: 1)) : ControlReply() },
            authority: authority
        )
        harness.publish([(name: nil, control: nil, symbols: ["AAPL", "FX:EUR", "FX:GBP", "MSFT"])])
        try await harness.test { client in
            let window = try await client.execute(uri: "/api/realtime_window", method: .get, headers: [.authorization: "Bearer \(reader)"]) { $0.text }
            #expect(window.split(separator: "\n").map { String($0.prefix(19)) } == [#"{"symbol":"FX:EUR","#, #"{"symbol":"FX:GBP","#])
            let everything = try await client.execute(uri: "/api/realtime_window", method: .get, headers: [.authorization: "Bearer \(writer)"]) { $0.text }
            #expect(everything.split(separator: "\n").count == 3)
            for path in ["/api/status", "/metrics"] {
                try await client.execute(uri: path, method: .get, headers: [.authorization: "Bearer \(reader)"]) { response in
                    #expect(response.status == .forbidden)
                    #expect(response.errorReason == "\(path) names every symbol; a token limited to some (--symbols) may not read it")
                }
            }
            // What the token allows, readable by the token itself.
            let access = try await client.execute(uri: "/api/access", method: .get, headers: [.authorization: "Bearer \(reader)"]) { $0 }
            #expect(access.status == .ok)
            let fields = try JSONSerialization.jsonObject(with: Data(buffer: access.body)) as? [String: Any]
            #expect(fields?["role"] as? String == "read" && fields?["symbols"] as? [String] == ["FX:*"] && fields?["tokens"] as? Bool == true)
            #expect(try await client.execute(uri: "/api/access", method: .get) { $0.status } == .unauthorized)

            func ingest(_ body: String) async throws -> TestResponse {
                try await client.execute(
                    uri: "/api/ingest", method: .post, headers: [.contentType: "application/json", .authorization: "Bearer \(writer)"], body: ByteBuffer(string: body)
                ) { $0 }
            }
            #expect(try await ingest(#"{"ticks":[{"symbol":"FX:EUR","t":1,"price":1},{"symbol":"AAPL","t":1,"price":1}]}"#).status == .ok)
            let refused = try await ingest(#"{"ticks":[{"symbol":"FX:EUR","t":1,"price":1},{"symbol":" MSFT","t":1,"price":1}]}"#)
            #expect(refused.status == .forbidden)
            #expect(refused.errorReason == "ticks[1]: this token may not write symbol 'MSFT'; the batch was not applied")
            let unreadable = try await ingest(#"{"ticks":[{"t":1,"price":1}]}"#)
            #expect(unreadable.status == .forbidden)
        }
        // Only the batch of allowed symbols reached a producer.
        #expect(harness.producers.batches.count == 1)
        await #expect(throws: TokenAuthority.TokenError.self) { try await authority.issue(role: .read, ttl: .seconds(60), symbols: "A B") }
        #expect(TokenAuthority.symbols(ofAdmitted: reader) == (try SymbolSelection.parse("FX:*")))
        #expect(TokenAuthority.symbols(ofAdmitted: try await authority.issue(role: .read, ttl: .seconds(60))) == nil)
    }

    @Test("an ingest body reaches the producer byte for byte; each failure to reach it has its answer")
    func ingestRelay() async throws {
        let outcome = Mutex<Result<ControlReply, ControlClient.Failure>>(.success(ControlReply(ingested: IngestResult(appended: 2, newSymbols: ["A"]))))
        let harness = try RouteHarness(producers: FakeProducers { _, _ in try outcome.withLock { $0 }.get() })
        let batch = #"{"ticks":[{"symbol":"A","t":1,"price":2},{"symbol":"A","t":2,"price":3}],"batch_id":"b-1"}"#
        try await harness.test { client in
            func post() async throws -> TestResponse {
                try await client.execute(uri: "/api/ingest", method: .post, headers: json, body: ByteBuffer(string: batch)) { $0 }
            }
            let applied = try await post()
            #expect(applied.status == .ok)
            // The producer's answer as it wrote it, which is the gateway's own form of it.
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            #expect(applied.text == String(decoding: try encoder.encode(IngestResult(appended: 2, newSymbols: ["A"])), as: UTF8.self))
            let fields = try JSONSerialization.jsonObject(with: Data(buffer: applied.body)) as? [String: Any]
            #expect(fields?["appended"] as? Int == 2)
            #expect(fields?["new_symbols"] as? [String] == ["A"])

            outcome.withLock { $0 = .failure(.timedOut) }
            let unanswered = try await post()
            #expect(unanswered.status == .gatewayTimeout)
            #expect(unanswered.errorReason == ProducerLink.ingestTimedOut)

            outcome.withLock { $0 = .failure(.unavailable("no such socket")) }
            let unreachable = try await post()
            #expect(unreachable.status == .serviceUnavailable)
            #expect(unreachable.errorReason == "producer is not reachable: no such socket")
            #expect(unreachable.headers[.retryAfter] == "1")

            outcome.withLock { $0 = .success(ControlReply(error: "the journal cannot be written", retryable: true)) }
            #expect(try await post().status == .serviceUnavailable)

            outcome.withLock { $0 = .success(ControlReply(error: "ticks[1].price must be a number")) }
            let refused = try await post()
            #expect(refused.status == .badRequest)
            #expect(refused.errorReason == "ticks[1].price must be a number")
        }
        #expect(harness.producers.batches.count == 5)
        #expect(harness.producers.batches.allSatisfy { $0.body == batch && $0.endpoint == "ipc:///fake/control.sock" })
    }

    @Test("readiness follows the feed: 503 before the first snapshot, 200 once one arrived")
    func readiness() async throws {
        let harness = try RouteHarness()
        try await harness.test { client in
            try await client.execute(uri: "/readyz", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                let body = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
                #expect(body?["reason"] as? String == "no snapshot received yet")
                #expect(body?["feed"] as? String == "no producer")
            }
            // Intervals of a minute: "live" for three, however slowly a loaded machine runs this.
            harness.publish([(name: nil, control: nil, symbols: ["A", "B"])])
            try await client.execute(uri: "/readyz", method: .get) { response in
                #expect(response.status == .ok)
                let body = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
                #expect(body?["feed"] as? String == "live")
                #expect(body?["seq"] as? Int == 1)
            }
            try await client.execute(uri: "/api/realtime_window", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/x-ndjson")
                #expect(response.text.split(separator: "\n").map { $0.hasPrefix(#"{"symbol":"#) } == [true, true])
            }
        }
    }

    @Test("request metrics are labelled by route, static or other, never by a made-up path")
    func requestLabels() async throws {
        let harness = try RouteHarness()
        try await harness.test { client in
            for path in ["/healthz", "/index.html", "/no/such/page", "/api/invented", "/healthz"] {
                _ = try await client.execute(uri: path, method: .get) { $0.status }
            }
            let text = try await client.execute(uri: "/metrics", method: .get) { $0.text }
            let labels = text.split(separator: "\n").filter { $0.contains("http_requests_total{") }.map(String.init)
            #expect(labels.contains { $0.contains(#"route="/healthz",status="200"} 2"#) }, "\(labels)")
            #expect(labels.contains { $0.contains(#"route="static",status="200"} 1"#) }, "\(labels)")
            #expect(labels.contains { $0.contains(#"route="other",status="404"} 2"#) }, "\(labels)")
            #expect(!labels.contains { $0.contains("invented") || $0.contains("no/such") })
        }
    }

    @Test("with several producers, a batch is split by owner, each part sent at once; one refused part says which stood")
    func shardedIngest() async throws {
        let refuseWest = Mutex(false)
        let harness = try RouteHarness(
            producers: FakeProducers { request, target in
                guard case .ingest(let batch) = request else { return ControlReply() }
                if target.endpoint.hasSuffix("west.sock"), refuseWest.withLock({ $0 }) { return ControlReply(error: "ticks[0].price must be a number") }
                let ticks = String(decoding: batch, as: UTF8.self).components(separatedBy: #""symbol""#).count - 1
                return ControlReply(ingested: IngestResult(appended: ticks, batchID: "b-1"))
            }
        )
        harness.publish([
            (name: "east", control: "ipc:///fake/east.sock", symbols: ["E1"]),
            (name: "west", control: "ipc:///fake/west.sock", symbols: ["W1"]),
        ])
        let batch = #"{"ticks":[{"symbol":"E1","t":1,"price":1},{"symbol":"W1","t":1,"price":2},{"symbol":"E1","t":2,"price":3}],"batch_id":"b-1"}"#
        try await harness.test { client in
            let whole = try await client.execute(uri: "/api/ingest", method: .post, headers: json, body: ByteBuffer(string: batch)) { $0 }
            #expect(whole.status == .ok, "\(whole.text)")
            let fields = try JSONSerialization.jsonObject(with: Data(buffer: whole.body)) as? [String: Any]
            #expect(fields?["appended"] as? Int == 3)
            #expect((fields?["parts"] as? [[String: Any]])?.map { $0["producer"] as? String } == ["east", "west"])

            refuseWest.withLock { $0 = true }
            let partial = try await client.execute(uri: "/api/ingest", method: .post, headers: json, body: ByteBuffer(string: batch)) { $0 }
            #expect(partial.status == .badRequest)
            #expect(partial.errorReason == "producer 'west': ticks[1].price must be a number; the parts for 'east' were applied")
        }
        let sent = harness.producers.batches
        #expect(sent.filter { $0.endpoint.hasSuffix("east.sock") }.allSatisfy { !$0.body.contains("W1") && $0.body.contains(#""batch_id":"b-1""#) })
        #expect(sent.filter { $0.endpoint.hasSuffix("west.sock") }.allSatisfy { !$0.body.contains("E1") })
        #expect(sent.count == 4)
    }
}

@Suite("Route table")
struct RouteTableTests {
    @Test("each route's role; under /api/test/ a write token, served or not; the dashboard's files need none")
    func roles() {
        for enabled in [false, true] {
            let table = RouteTable(enableTestAPI: enabled)
            #expect(table.role(at: "/api/ingest") == .write)
            #expect(table.role(at: "/api/test/load_mock_data") == .write)
            #expect(table.role(at: "/api/status") == .read)
            #expect(table.role(at: "/ws/realtime_charts") == .read)
            #expect(table.role(at: "/metrics") == .read)
            #expect(table.role(at: "/healthz") == nil)
            #expect(table.role(at: "/index.html") == nil)
            #expect((table.route(at: "/api/test/load_mock_data") != nil) == enabled)
        }
        let table = RouteTable(enableTestAPI: false)
        #expect(table.paths(needing: .read) == ["/api/access", "/api/realtime_window", "/api/status", "/metrics", "/sse/realtime_charts", "/ws/realtime_charts"])
        #expect(table.paths(needing: .write) == ["/api/ingest", "/api/test/*"])
    }
}
