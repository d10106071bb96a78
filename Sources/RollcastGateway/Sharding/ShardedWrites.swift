import Foundation
import Hummingbird
import NIOCore
import RollcastCore

/// Writes on a gateway merging several producers: each symbol's part goes to the producer that
/// owns it (``ProducerRouter``), all parts at once, each applied whole or not at all by its
/// producer. The answer says what each producer did.
struct ShardedWrites: Sendable {
    let producers: ProducerLink

    /// What one producer did with its part of a write.
    struct PartAnswer: Encodable {
        let producer: String
        /// Ticks (or symbols, for a mock load) in this part.
        let size: Int
        let status: Int
        let result: IngestResult?
        let loaded: LoadedMockData?
        let error: String?
    }

    /// A batch split over several producers.
    struct ShardedIngestAnswer: Encodable {
        let appended: Int
        let merged: Int
        let inserted: Int
        let tooOld: Int
        let newSymbols: [String]
        let batchID: String?
        let duplicate: Bool?
        let parts: [PartAnswer]

        enum CodingKeys: String, CodingKey {
            case appended, merged, inserted, duplicate, parts
            case tooOld = "too_old"
            case newSymbols = "new_symbols"
            case batchID = "batch_id"
        }
    }

    struct PartialFailure: Encodable {
        let error: String
        let parts: [PartAnswer]
    }

    /// Sends every part at once; each answer comes back with its part's key.
    private func sendParts<Key: Sendable>(
        _ parts: [(key: Key, destination: ProducerRouter.Destination, size: Int, request: ControlRequest)]
    ) async -> [(key: Key, answer: PartAnswer)] {
        await withTaskGroup(of: (Int, PartAnswer).self) { group in
            for (position, part) in parts.enumerated() {
                group.addTask {
                    let producer = part.destination.producer ?? ""
                    do {
                        let reply = try await producers.forward(part.request, to: part.destination).reply
                        if let error = reply.error {
                            return (position, PartAnswer(producer: producer, size: part.size, status: 400, result: nil, loaded: nil, error: error))
                        }
                        return (position, PartAnswer(producer: producer, size: part.size, status: 200, result: reply.ingested, loaded: reply.loaded, error: nil))
                    } catch let error as APIError {
                        return (position, PartAnswer(producer: producer, size: part.size, status: Int(error.status.code), result: nil, loaded: nil, error: error.reason))
                    } catch {
                        return (position, PartAnswer(producer: producer, size: part.size, status: 503, result: nil, loaded: nil, error: "\(error)"))
                    }
                }
            }
            var answers: [(Int, PartAnswer)] = []
            for await answer in group { answers.append(answer) }
            return answers.sorted { $0.0 < $1.0 }.map { (parts[$0.0].key, $0.1) }
        }
    }

    /// 200 when every part was applied; else 400 when a producer refused its part (the others'
    /// parts stand: a retry with the same `batch_id` applies only what was refused), 504 when
    /// one got its part and did not answer in time, 503 when one could not be reached or could
    /// not store it.
    private func partialFailure(_ answers: [PartAnswer]) -> Response? {
        guard let failed = answers.first(where: { $0.status != 200 }) else { return nil }
        let applied = answers.filter { $0.status == 200 }.map(\.producer)
        // A refusal is the client's to fix; a part sent and not answered may yet be applied (504).
        let status: HTTPResponse.Status =
            answers.contains { $0.status == 400 } ? .badRequest : answers.contains { $0.status == 504 } ? .gatewayTimeout : .serviceUnavailable
        let stood = applied.isEmpty ? "no part was applied" : "the parts for \(applied.map { "'\($0)'" }.joined(separator: ", ")) were applied"
        var response = JSONBody.response(
            status: status, PartialFailure(error: "producer '\(failed.producer)': \(failed.error ?? "refused"); \(stood)", parts: answers)
        )
        if status == .serviceUnavailable { response.headers[.retryAfter] = "1" }
        return response
    }

    func ingest(_ split: IngestSplit) async throws -> Response {
        let parts = split.parts.map { entry in
            let destination = entry.key.base as! ProducerRouter.Destination
            return (key: entry.part, destination: destination, size: entry.part.indices.count, request: ControlRequest.ingest(batch: split.body(of: entry.part)))
        }
        var answers = await sendParts(parts)
        for index in answers.indices where answers[index].answer.error != nil {
            let answer = answers[index].answer
            answers[index].answer = PartAnswer(
                producer: answer.producer, size: answer.size, status: answer.status, result: nil, loaded: nil,
                error: IngestSplit.renumber(answer.error!, part: answers[index].key)
            )
        }
        let all = answers.map(\.answer)
        if let failure = partialFailure(all) { return failure }
        let results = all.compactMap(\.result)
        return JSONBody.response(
            ShardedIngestAnswer(
                appended: results.reduce(0) { $0 + $1.appended }, merged: results.reduce(0) { $0 + $1.merged },
                inserted: results.reduce(0) { $0 + $1.inserted }, tooOld: results.reduce(0) { $0 + $1.tooOld },
                newSymbols: results.flatMap(\.newSymbols).sorted(), batchID: results.first?.batchID,
                duplicate: results.allSatisfy { $0.duplicate == true } ? true : nil, parts: all
            )
        )
    }

    /// Each producer loads its symbols; the answer comes once one message holds every part.
    func loadMockData(_ load: LoadMockData, router: ProducerRouter, started: ContinuousClock.Instant) async throws -> Response {
        var order: [ProducerRouter.Destination] = []
        var symbols: [ProducerRouter.Destination: [String]] = [:]
        for symbol in load.symbols {
            let destination = router.destination(of: symbol)
            if symbols[destination] == nil { order.append(destination) }
            symbols[destination, default: []].append(symbol)
        }
        let parts = order.map { destination in
            (
                key: destination, destination: destination, size: symbols[destination]!.count,
                request: ControlRequest.loadMockData(LoadMockData(symbols: symbols[destination]!, points: load.points, seed: load.seed))
            )
        }
        let all = await sendParts(parts).map(\.answer)
        if let failure = partialFailure(all) { return failure }
        let loaded = all.compactMap(\.loaded)
        let remaining = producers.timeout - started.duration(to: .now)
        let broadcaster = producers.broadcaster
        let holding = await broadcaster.waitForSnapshot(holding: loaded.map { ($0.runID, $0.visibleFromSeq) }, timeout: max(remaining, .zero))
        let snapshot = holding ?? broadcaster.latest
        return JSONBody.response(
            MockDataRoute.Loaded(symbols: load.symbols, points: load.points, seed: load.seed, seq: snapshot?.header.seq ?? 0, runID: snapshot?.header.runID ?? "")
        )
    }
}
