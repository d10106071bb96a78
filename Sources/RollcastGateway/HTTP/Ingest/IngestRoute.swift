import Hummingbird
import NIOCore
import RollcastCore

/// `POST /api/ingest`: real ticks in. The body goes to the producer as it came, which reads and
/// checks it once and answers with what it did; with several producers, each symbol's ticks go
/// to the producer that owns it (``ShardedWrites``).
struct IngestRoute: Sendable {
    let producers: ProducerLink
    let maxBodyBytes: Int

    func answer(_ request: Request) async throws -> Response {
        let body = try await BoundedBody.read(request, limit: maxBodyBytes)
        let router = producers.router
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
            if split.parts.count > 1 { return try await ShardedWrites(producers: producers).ingest(split) }
            destination = split.parts.first?.key.base as? ProducerRouter.Destination
        }
        return try await ingestWhole(body, to: destination)
    }

    /// The batch to one producer, untouched; its answer relayed as the producer wrote it.
    private func ingestWhole(_ body: ByteBuffer, to destination: ProducerRouter.Destination?) async throws -> Response {
        let answer = try await producers.forward(.ingest(batch: Array(buffer: body)), to: destination)
        guard let ingested = answer.reply.ingested else {
            throw APIError(.badRequest, answer.reply.error ?? "producer refused the ticks")
        }
        guard let json = answer.member("ingested") else { return JSONBody.response(ingested) }
        return JSONBody.response(json: ByteBuffer(bytes: json))
    }
}
