import Foundation
import NIOHTTP1

/// What a request to `/sse/realtime_charts` asks for: the stream (`?stream=full`, the default,
/// or `delta`), the symbols (`?symbols=`, as on the WebSocket), and the snapshot it holds
/// (`Last-Event-ID`, sent by a reconnecting `EventSource`).
struct EventStreamRequest: Sendable, Equatable {
    let deltaStream: Bool
    let chosen: SymbolSelection?
    /// The snapshot the client says it holds; an id that is not one of ours is no id (the stream
    /// starts with a full message, which is always exact).
    let lastEventID: SnapshotID?

    /// Why a request cannot be served, said in one line.
    struct Refusal: Error, Sendable, Equatable, CustomStringConvertible {
        let description: String
    }

    static func parse(_ head: HTTPRequestHead) throws(Refusal) -> EventStreamRequest {
        let streams = QueryParameters.values(of: "stream", in: head.uri)
        guard streams.count <= 1 else { throw Refusal(description: "stream is given \(streams.count) times; give it once") }
        let deltaStream: Bool
        switch streams.first {
        case nil, "full": deltaStream = false
        case "delta": deltaStream = true
        case let other?: throw Refusal(description: "stream must be full or delta, not \(other.prefix(40))")
        }
        let chosen: SymbolSelection?
        do {
            chosen = try SymbolSelection.fromQuery(of: head.uri)
        } catch {
            throw Refusal(description: error.description)
        }
        let lastEventID = head.headers.first(name: "last-event-id").flatMap { SnapshotID(eventID: $0.trimmingCharacters(in: .whitespaces)) }
        return EventStreamRequest(deltaStream: deltaStream, chosen: chosen, lastEventID: lastEventID)
    }
}
