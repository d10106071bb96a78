import Hummingbird
import NIOCore
import RollcastCore

/// `POST /api/test/load_mock_data` (with `--enable-test-api`): the producer fills the named
/// symbols with made-up history. The answer comes once the data is in the snapshot clients
/// get, so a client that connects right after it sees the data.
struct MockDataRoute: Sendable {
    let producers: ProducerLink
    let maxBodyBytes: Int

    struct Loaded: Encodable {
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

    func answer(_ request: Request) async throws -> Response {
        let started = ContinuousClock.now
        let body = try await BoundedBody.read(request, limit: maxBodyBytes)
        let parsed: LoadMockData
        if body.readableBytesView.allSatisfy({ [0x20, 0x09, 0x0A, 0x0D].contains($0) }) {
            parsed = LoadMockData()  // no body: every default
        } else {
            parsed = try BoundedBody.decode(LoadMockData.self, from: body)
        }
        let validated: LoadMockData
        do {
            validated = try parsed.validated()
        } catch {
            throw APIError(.badRequest, "\(error)")
        }
        let router = producers.router
        if router.isSharded { return try await ShardedWrites(producers: producers).loadMockData(validated, router: router, started: started) }
        let reply = try await producers.forward(.loadMockData(validated)).reply
        guard let loaded = reply.loaded else {
            throw APIError(.badRequest, reply.error ?? "producer refused the request")
        }
        // The wait shares the request's time budget.
        let remaining = producers.timeout - started.duration(to: .now)
        _ = await producers.broadcaster.waitForSnapshot(runID: loaded.runID, seq: loaded.visibleFromSeq, timeout: max(remaining, .zero))
        return JSONBody.response(
            Loaded(symbols: loaded.symbols, points: loaded.points, seed: loaded.seed, seq: loaded.visibleFromSeq, runID: loaded.runID)
        )
    }
}
