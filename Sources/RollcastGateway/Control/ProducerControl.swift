import RollcastCore

/// What the HTTP routes need of the producers' control sockets: a request sent to one of
/// them, its reply awaited until a deadline. ``ControlClient`` is the real one; tests give
/// the routes a fake that answers at once.
protocol ProducerControl: Sendable {
    /// The producer at `--control-endpoint`.
    var defaultTarget: ControlTarget { get }

    /// Sends `request` to `target` and waits for the reply until `timeout` has passed.
    /// - Throws: ``ControlClient/Failure`` when the producer is down, slow, or answers nonsense.
    func send(_ request: ControlRequest, to target: ControlTarget, timeout: Duration) async throws -> ControlAnswer
}

extension ProducerControl {
    /// Sends `request` to the producer at `--control-endpoint`.
    func send(_ request: ControlRequest, timeout: Duration) async throws -> ControlAnswer {
        try await send(request, to: defaultTarget, timeout: timeout)
    }
}

/// A producer's reply, read, and the bytes it came as: a route relays a part of them as they are
/// (``ControlReply/encoded()`` writes them as the gateway's own answers are written).
struct ControlAnswer: Sendable {
    let reply: ControlReply
    let json: [UInt8]

    /// The JSON of the reply's member `key` (`ingested`), as the producer wrote it.
    func member(_ key: String) -> ArraySlice<UInt8>? {
        guard let members = try? JSONArraySplitter.members(in: json), let value = members.first(where: { $0.key == key })?.value else { return nil }
        return json[value]
    }
}

extension ControlClient: ProducerControl {}
