import Hummingbird
import NIOCore
import RollcastCore

/// `POST /api/ingest`: real ticks in. The body goes to the producer as it came, which reads and
/// checks it once and answers with what it did; with several producers, each symbol's ticks go
/// to the producer that owns it (``ShardedWrites``).
struct IngestRoute: Sendable {
    let producers: ProducerLink
    let maxBodyBytes: Int
    /// Whether tokens are checked (a `symbols` claim then limits what may be written).
    let tokensOn: Bool

    func answer(_ request: Request) async throws -> Response {
        let body = try await BoundedBody.read(request, limit: maxBodyBytes)
        if tokensOn, let allowed = TokenAuthority.symbols(ofAdmitted: BearerToken.fromAuthorization(request.headers[.authorization])) {
            try Self.check(body, writableBy: allowed)
        }
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

    /// Refuses a batch, whole, with a tick of a symbol the token may not write (403 naming the
    /// first), or one whose symbols cannot be read to tell.
    static func check(_ body: ByteBuffer, writableBy allowed: SymbolSelection) throws {
        // The batch's symbols are read as a split between producers reads them, in tick order.
        var position = 0
        var refused: (index: Int, symbol: String)?
        let readable = IngestSplit(body: body) { symbol in
            if refused == nil, !allowed.matches(symbol) { refused = (position, symbol) }
            position += 1
            return AnyHashable(0)
        }
        guard readable != nil else {
            throw APIError(.forbidden, #"this token may write only its symbols; a batch must be {"ticks":[{"symbol":…},…]} for them to be read"#)
        }
        if let refused {
            throw APIError(.forbidden, "ticks[\(refused.index)]: this token may not write symbol '\(refused.symbol.prefix(40))'; the batch was not applied")
        }
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
