import RollcastCore

/// What the HTTP routes need of the producers' control sockets: a request sent to one of
/// them, its reply awaited until a deadline. ``ControlClient`` is the real one; tests give
/// the routes a fake that answers at once.
protocol ProducerControl: Sendable {
    /// The producer at `--control-endpoint`.
    var defaultTarget: ControlTarget { get }

    /// Sends `request` to `target` and waits for the reply until `timeout` has passed.
    /// - Throws: ``ControlClient/Failure`` when the producer is down, slow, or answers nonsense.
    func send(_ request: ControlRequest, to target: ControlTarget, timeout: Duration) async throws -> ControlReply
}

extension ProducerControl {
    /// Sends `request` to the producer at `--control-endpoint`.
    func send(_ request: ControlRequest, timeout: Duration) async throws -> ControlReply {
        try await send(request, to: defaultTarget, timeout: timeout)
    }
}

extension ControlClient: ProducerControl {}
