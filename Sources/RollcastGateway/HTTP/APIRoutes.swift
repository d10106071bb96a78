import Foundation
import Hummingbird
import NIOCore
import RollcastCore
import Synchronization

/// The HTTP API: load mock data, the one-time window stream, health and readiness.
struct APIRoutes: Sendable {
    let broadcaster: SnapshotBroadcaster
    let control: ControlClient
    let metrics: GatewayMetrics
    let configuration: GatewayConfiguration
    /// The NDJSON of the latest snapshot, made once and shared by every request for it.
    let window = NDJSONCache()
    /// Which producer takes each symbol's writes, made once per message.
    let routes = RouterCache()

    /// The routes only for tests and demos, served with `--enable-test-api`.
    static let testRoutes: [String: [HTTPRequest.Method]] = ["/api/test/load_mock_data": [.post]]

    /// Allowed methods by path, for telling 405 from 404.
    var table: [String: [HTTPRequest.Method]] {
        configuration.enableTestAPI ? Self.routes.merging(Self.testRoutes) { $1 } : Self.routes
    }

    private static let routes: [String: [HTTPRequest.Method]] = [
        "/api/ingest": [.post],
        "/api/realtime_window": [.get, .head],
        "/api/status": [.get, .head],
        "/healthz": [.get, .head],
        "/metrics": [.get, .head],
        "/readyz": [.get, .head],
        "/ws/realtime_charts": [.get],
    ]

    func register(on router: Router<some RequestContext>) {
        if configuration.enableTestAPI {
            router.post("/api/test/load_mock_data") { request, _ in try await loadMockData(request) }
        }
        router.post("/api/ingest") { request, _ in try await ingest(request) }
        // Each GET route answers HEAD too: the same status and headers, no body.
        let reads: [(String, @Sendable () async throws -> Response)] = [
            ("/api/realtime_window", { try realtimeWindow() }),
            ("/api/status", { await status() }),
            ("/healthz", { JSONBody.response(["status": "ok"]) }),
            ("/readyz", { readiness() }),
            ("/metrics", { await exposition() }),
        ]
        for (path, answer) in reads {
            router.get(RouterPath(path)) { _, _ in try await answer() }
            router.head(RouterPath(path)) { _, _ in
                var response = try await answer()
                response.body = .init()
                return response
            }
        }
        router.get("/ws/realtime_charts") { _, _ -> Response in
            throw APIError(.upgradeRequired, "this endpoint speaks WebSocket only", headers: [.upgrade: "websocket"])
        }
    }

    // MARK: POST /api/test/load_mock_data

    struct LoadedBody: Encodable {
        let symbols: [String]
        let points: Int
        let seed: UInt64
        let seq: UInt64
        let runID: String

        enum CodingKeys: String, CodingKey {
            case symbols, points, seed, seq
            case runID = "run_id"
        }
    }

    func loadMockData(_ request: Request) async throws -> Response {
        let started = ContinuousClock.now
        let body = try await readBody(request, limit: configuration.maxBodyBytes)
        let parsed: LoadMockData
        if body.readableBytesView.allSatisfy({ [0x20, 0x09, 0x0A, 0x0D].contains($0) }) {
            parsed = LoadMockData()  // no body: every default
        } else {
            parsed = try decode(LoadMockData.self, from: body)
        }
        let validated: LoadMockData
        do {
            validated = try parsed.validated()
        } catch {
            throw APIError(.badRequest, "\(error)")
        }
        let router = router
        if router.isSharded { return try await loadMockDataSharded(validated, router: router, started: started) }
        let reply = try await forward(.loadMockData(validated))
        guard let loaded = reply.loaded else {
            throw APIError(.badRequest, reply.error ?? "producer refused the request")
        }
        // Answer once the data is in the snapshot clients get, so a client that connects
        // right after this answer sees it. The wait shares the request's time budget.
        let remaining = configuration.controlTimeout - started.duration(to: .now)
        _ = await broadcaster.waitForSnapshot(runID: loaded.runID, seq: loaded.visibleFromSeq, timeout: max(remaining, .zero))
        return JSONBody.response(
            LoadedBody(symbols: loaded.symbols, points: loaded.points, seed: loaded.seed, seq: loaded.visibleFromSeq, runID: loaded.runID)
        )
    }

    // MARK: POST /api/ingest

    /// Real ticks in: the body goes to the producer as it came, which reads and checks it once
    /// and answers with what it did.
    func ingest(_ request: Request) async throws -> Response {
        let body = try await readBody(request, limit: configuration.maxIngestBytes)
        let router = router
        var destination: ProducerRouter.Destination?
        if router.isSharded {
            // A batch repeats its symbols: each is routed once (a new one costs a hash per producer).
            var routed: [String: AnyHashable] = [:]
            let split = IngestSplit(body: body) { symbol in
                if let known = routed[symbol] { return known }
                let destination = AnyHashable(router.destination(of: symbol))
                routed[symbol] = destination
                return destination
            }
            guard let split else {
                // Only a producer can say what is wrong with it: any one will do.
                return try await ingestWhole(body, to: router.anyDestination)
            }
            if split.parts.count > 1 { return try await ingestSharded(split) }
            destination = split.parts.first?.key.base as? ProducerRouter.Destination
        }
        return try await ingestWhole(body, to: destination)
    }

    /// The batch to one producer, untouched.
    private func ingestWhole(_ body: ByteBuffer, to destination: ProducerRouter.Destination?) async throws -> Response {
        let reply = try await forward(.ingest(batch: Array(buffer: body)), to: destination)
        guard let ingested = reply.ingested else {
            throw APIError(.badRequest, reply.error ?? "producer refused the ticks")
        }
        return JSONBody.response(ingested)
    }

    // MARK: Shared steps of the POST routes

    /// The whole body, or 413 past `limit`.
    ///
    /// A body over the limit gets 413 and the connection closed. A client that sends its whole
    /// body before reading the answer (most do) would block in its send if nothing read the rest,
    /// so the rest is read and dropped first, for at most ``drainBytes`` or ``drainTime``; one
    /// that announced the body with `Expect: 100-continue` never sends it and is answered at once.
    private func readBody(_ request: Request, limit: Int) async throws -> ByteBuffer {
        let tooLarge = APIError(.contentTooLarge, "request body is larger than \(limit) bytes", headers: [.connection: "close"])
        let declared = request.headers[.contentLength].flatMap { Int($0) }
        if let declared, declared > limit, request.headers[.expect]?.lowercased() == "100-continue" { throw tooLarge }
        // Set once the body passes the limit: from then on it is read and dropped.
        let overSince = OverLimit()
        let chunks = request.body
        return try await withThrowingTaskGroup(of: ByteBuffer?.self) { group in
            group.addTask {
                var body = ByteBuffer()
                var dropped = 0
                for try await chunk in chunks {
                    if overSince.instant.withLock({ $0 }) == nil, body.readableBytes + chunk.readableBytes <= limit {
                        body.writeImmutableBuffer(chunk)
                        continue
                    }
                    overSince.instant.withLock { $0 = $0 ?? .now }
                    dropped += chunk.readableBytes
                    if dropped > Self.drainBytes { break }
                }
                return overSince.instant.withLock { $0 } == nil ? body : nil
            }
            // Ends the drain of a body that keeps coming, or stops coming, after drainTime.
            group.addTask {
                while true {
                    try await Task.sleep(for: .milliseconds(100))
                    if let since = overSince.instant.withLock({ $0 }), since.duration(to: .now) > Self.drainTime { return nil }
                }
            }
            defer { group.cancelAll() }
            guard let body = try await group.next() ?? nil else { throw tooLarge }
            return body
        }
    }

    /// When a body went past its limit, shared by the task reading it and the one timing the drain.
    private final class OverLimit: Sendable {
        let instant = Mutex<ContinuousClock.Instant?>(nil)
    }

    /// How much of an oversized body is read and dropped before the 413, at most.
    static let drainBytes = 64 << 20
    static let drainTime: Duration = .seconds(2)

    /// The body as `T`, or 400 naming what is wrong.
    private func decode<T: Decodable>(_ type: T.Type, from body: ByteBuffer) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(buffer: body))
        } catch {
            throw APIError(.badRequest, DecodingErrorReason.describe(error))
        }
    }

    /// What a batch's 504 says: the producer got it and did not answer, so it may be applied
    /// later (a stopped producer that resumes applies it); a retry with the same `batch_id` is
    /// then answered `duplicate` and applies nothing twice.
    static let ingestTimedOut = "the producer did not answer in time; the batch may have been applied; retry with the same batch_id"

    /// The producer's reply; 503 when it cannot be had (not reachable, busy), and for an
    /// ingest the producer got but did not answer in time, 504.
    func forward(_ request: ControlRequest, to destination: ProducerRouter.Destination? = nil) async throws -> ControlReply {
        let reply: ControlReply
        do {
            let target = try (destination?.target.get() ?? control.defaultTarget)
            reply = try await control.send(request, to: target, timeout: configuration.controlTimeout)
        } catch ControlClient.Failure.timedOut where request.isIngest {
            throw APIError(.gatewayTimeout, Self.ingestTimedOut)
        } catch let unreachable as ProducerRouter.Unreachable {
            throw APIError(.serviceUnavailable, unreachable.reason, headers: [.retryAfter: "1"])
        } catch {
            throw APIError(.serviceUnavailable, "\(error)", headers: [.retryAfter: "1"])
        }
        if reply.retryable == true, let error = reply.error {
            throw APIError(.serviceUnavailable, error, headers: [.retryAfter: "1"])
        }
        return reply
    }

    // MARK: GET /api/realtime_window

    /// The latest snapshot once, one chart object per line, then the response ends.
    func realtimeWindow() throws -> Response {
        guard let snapshot = broadcaster.latest else {
            throw APIError(.serviceUnavailable, "no snapshot has arrived from the producer yet")
        }
        return Response(
            status: .ok,
            headers: [.contentType: "application/x-ndjson", .cacheControl: "no-store"],
            body: .init(byteBuffer: try window.ndjson(of: snapshot))
        )
    }

    // MARK: GET /readyz, /api/status

    struct Readiness: Encodable {
        let ready: Bool
        let feed: FeedState
        let reason: String?
        let lastSnapshotAgeMilliseconds: Int64?
        let seq: UInt64?
        let runID: String?

        enum CodingKeys: String, CodingKey {
            case ready, feed, reason, seq
            case lastSnapshotAgeMilliseconds = "last_snapshot_age_ms"
            case runID = "run_id"
        }
    }

    /// Whether this gateway can serve its clients: 200 while it holds a snapshot, live or stale
    /// (the feed's state is in the body); 503 before the first snapshot, once it has begun to
    /// shut down, and while it has `--max-clients` clients.
    func readiness() -> Response {
        let snapshot = broadcaster.latest
        let now = ContinuousClock.now
        let reason: String? =
            if broadcaster.isFinished {
                "the gateway is shutting down"
            } else if snapshot == nil {
                "no snapshot received yet"
            } else if metrics.connected.value >= configuration.maxClients {
                "the gateway has its maximum of \(configuration.maxClients) clients"
            } else {
                nil
            }
        return JSONBody.response(
            status: reason == nil ? .ok : .serviceUnavailable,
            Readiness(
                ready: reason == nil,
                feed: FeedState(snapshot, at: now),
                reason: reason,
                lastSnapshotAgeMilliseconds: snapshot.map { $0.receivedAt.duration(to: now).milliseconds },
                seq: snapshot?.header.seq,
                runID: snapshot?.header.runID
            )
        )
    }

    /// A producer whose charts the gateway's message holds.
    struct Source: Encodable {
        let name: String
        let runID: String
        let seq: UInt64
        let charts: Int
        let live: Bool
        let lastSnapshotAgeMilliseconds: Int64
        let hiddenSymbols: Int
        /// The first few of them, for the operator to look at.
        let hiddenSymbolsSample: [String]

        init(_ source: ProducerSource, now: ContinuousClock.Instant) {
            name = source.name
            runID = source.runID
            seq = source.seq
            charts = source.charts
            live = source.isLive(at: now)
            lastSnapshotAgeMilliseconds = source.receivedAt.duration(to: now).milliseconds
            hiddenSymbols = source.hiddenSymbols.count
            hiddenSymbolsSample = Array(source.hiddenSymbols.prefix(10))
        }

        enum CodingKeys: String, CodingKey {
            case name, seq, charts, live
            case runID = "run_id"
            case lastSnapshotAgeMilliseconds = "last_snapshot_age_ms"
            case hiddenSymbols = "hidden_symbols"
            case hiddenSymbolsSample = "hidden_symbols_sample"
        }
    }

    struct Status: Encodable {
        let clients: Int
        let clientsRefused: Int
        let connections: Int
        let connectionsRefused: Int
        let slowClientsClosed: Int
        let pingTimeouts: Int
        let snapshotsSkipped: Int
        let feed: FeedState
        let seq: UInt64?
        let runID: String?
        let charts: Int?
        let snapshotBytes: Int?
        let lastSnapshotAgeMilliseconds: Int64?
        let snapshotEndpoint: String
        let controlEndpoint: String
        /// Every producer the message holds charts of, in name order.
        let sources: [Source]
        /// The producer's own status (windows, ingest counters), asked for with a short deadline.
        let producer: ProducerStatus?
        let producerError: String?
        /// With several producers, each one's own status, asked for at once.
        let producers: [ProducerAnswer]?

        enum CodingKeys: String, CodingKey {
            case clients, feed, seq, charts, producer, sources, producers
            case producerError = "producer_error"
            case clientsRefused = "clients_refused"
            case connections
            case connectionsRefused = "connections_refused"
            case slowClientsClosed = "slow_clients_closed"
            case pingTimeouts = "ping_timeouts"
            case snapshotsSkipped = "snapshots_skipped"
            case runID = "run_id"
            case snapshotBytes = "snapshot_bytes"
            case lastSnapshotAgeMilliseconds = "last_snapshot_age_ms"
            case snapshotEndpoint = "snapshot_endpoint"
            case controlEndpoint = "control_endpoint"
        }
    }

    /// How long `/api/status` waits for the producer's part.
    static let producerStatusTimeout: Duration = .milliseconds(500)

    /// One producer's own status, or why it could not be had.
    struct ProducerAnswer: Encodable {
        let name: String
        let status: ProducerStatus?
        let error: String?
    }

    func status() async -> Response {
        var producer: ProducerStatus?
        var producerError: String?
        let router = router
        // Each producer's, at once, with several; `--control-endpoint`'s alone otherwise.
        async let all = router.isSharded ? producerStatuses(router) : nil
        do {
            let reply = try await control.send(.status, timeout: Self.producerStatusTimeout)
            producer = reply.status
            producerError = reply.error
        } catch {
            producerError = "\(error)"
        }
        let producers = await all
        let snapshot = broadcaster.latest
        return JSONBody.response(
            Status(
                clients: metrics.connected.value,
                clientsRefused: metrics.refused.value,
                connections: metrics.connections.value,
                connectionsRefused: metrics.connectionsRefused.value,
                slowClientsClosed: metrics.slowClosed.value,
                pingTimeouts: metrics.pingTimeouts.value,
                snapshotsSkipped: metrics.snapshotsSkipped.value,
                feed: FeedState(snapshot, at: .now),
                seq: snapshot?.header.seq,
                runID: snapshot?.header.runID,
                charts: snapshot?.header.charts,
                snapshotBytes: snapshot?.payload.readableBytes,
                lastSnapshotAgeMilliseconds: snapshot.map { $0.receivedAt.duration(to: .now).milliseconds },
                snapshotEndpoint: configuration.snapshotEndpoints.joined(separator: ","),
                controlEndpoint: configuration.controlEndpoint,
                sources: snapshot.map { snapshot in snapshot.sources.map { Source($0, now: .now) } } ?? [],
                producer: producer,
                producerError: producerError,
                producers: producers
            )
        )
    }
}

extension APIRoutes {
    // MARK: GET /metrics

    /// The gateway's metrics, then the producer's (asked for with the status deadline), as
    /// Prometheus text; `rollcast_producer_up` says whether the producer's part is there.
    ///
    /// With several producers, every producer's metrics, each sample labelled `producer`.
    func exposition() async -> Response {
        metrics.observeLatest(broadcaster.latest)
        var text = metrics.registry.exposition()
        let router = router
        if router.isSharded {
            text.append(contentsOf: ProducerExpositions.merged(await producerMetrics(router)).utf8)
        } else {
            var producer: String?
            if let reply = try? await control.send(.metrics, timeout: Self.producerStatusTimeout) { producer = reply.metrics }
            text.append(contentsOf: "# HELP rollcast_producer_up Whether the producer answered this scrape's request for its metrics (1) or not (0).\n".utf8)
            text.append(contentsOf: "# TYPE rollcast_producer_up gauge\nrollcast_producer_up \(producer == nil ? 0 : 1)\n".utf8)
            if let producer { text.append(contentsOf: producer.utf8) }
        }
        return Response(
            status: .ok,
            headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(bytes: text))
        )
    }
}

extension APIRoutes {
    /// Asks every producer for `request` at once with the status deadline: each one's name and
    /// its reply, or why there is none, in name order.
    func askEveryProducer(_ request: ControlRequest, _ router: ProducerRouter) async -> [(producer: String, reply: Result<ControlReply, any Error>)] {
        let destinations = router.allDestinations
        return await withTaskGroup(of: (Int, Result<ControlReply, any Error>).self) { group in
            for (index, destination) in destinations.enumerated() {
                group.addTask {
                    do {
                        return (index, .success(try await control.send(request, to: try destination.target.get(), timeout: Self.producerStatusTimeout)))
                    } catch {
                        return (index, .failure(error))
                    }
                }
            }
            var replies = [Result<ControlReply, any Error>?](repeating: nil, count: destinations.count)
            for await (index, reply) in group { replies[index] = reply }
            return zip(destinations, replies).map { ($0.producer ?? "", $1!) }
        }
    }

    /// Every producer's own status.
    func producerStatuses(_ router: ProducerRouter) async -> [ProducerAnswer] {
        await askEveryProducer(.status, router).map { producer, reply in
            switch reply {
            case .success(let reply): ProducerAnswer(name: producer, status: reply.status, error: reply.error)
            case .failure(let unreachable as ProducerRouter.Unreachable): ProducerAnswer(name: producer, status: nil, error: unreachable.reason)
            case .failure(let error): ProducerAnswer(name: producer, status: nil, error: "\(error)")
            }
        }
    }

    /// Every producer's metrics text; `nil` for one that did not answer.
    func producerMetrics(_ router: ProducerRouter) async -> [(producer: String, text: String?)] {
        await askEveryProducer(.metrics, router).map { ($0.producer, try? $0.reply.get().metrics) }
    }
}

/// The latest snapshot as NDJSON, made once per snapshot: a client that never reads its answer
/// holds a reference to the shared bytes, not a copy of its own.
final class NDJSONCache: Sendable {
    private let latest = Mutex<(key: String, body: ByteBuffer)?>(nil)

    func ndjson(of snapshot: RelayedSnapshot) throws -> ByteBuffer {
        let key = "\(snapshot.header.runID)/\(snapshot.header.seq)"
        if let cached = latest.withLock({ $0 }), cached.key == key { return cached.body }
        let payload = snapshot.payload
        let ranges = try JSONArraySplitter.elementRanges(in: payload.readableBytesView)
        var body = ByteBuffer()
        body.reserveCapacity(payload.readableBytes + ranges.count)
        for range in ranges {
            body.writeImmutableBuffer(payload.getSlice(at: payload.readerIndex + range.lowerBound, length: range.count)!)
            body.writeInteger(UInt8(ascii: "\n"))
        }
        latest.withLock { $0 = (key, body) }
        return body
    }
}
