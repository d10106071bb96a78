import Hummingbird
import RollcastCore
import ZeroMQ

/// How the HTTP routes reach producers: the one at `--control-endpoint`, the one that owns a
/// symbol when several are merged (``ProducerRouter``), or every one at once. A failure to
/// reach one becomes the answer a client gets (503, or 504 for an ingest sent and unanswered).
struct ProducerLink: Sendable {
    let control: any ProducerControl
    let broadcaster: SnapshotBroadcaster
    /// How long a write waits for its producer.
    let timeout: Duration
    /// This gateway's CURVE key pair, for producers that announce a `tcp://` control socket.
    let keyPair: CurveKeyPair?
    /// Which producer takes each symbol's writes, made once per message.
    private let routers = RouterCache()

    init(control: any ProducerControl, broadcaster: SnapshotBroadcaster, timeout: Duration, keyPair: CurveKeyPair?) {
        self.control = control
        self.broadcaster = broadcaster
        self.timeout = timeout
        self.keyPair = keyPair
    }

    /// How long `/api/status` and `/metrics` wait for a producer's part.
    static let statusTimeout: Duration = .milliseconds(500)

    /// The router of the latest message.
    var router: ProducerRouter {
        routers.router(for: broadcaster.latest) { sources in
            ProducerRouter(sources: sources, fallback: control.defaultTarget, keyPair: keyPair)
        }
    }

    /// What a batch's 504 says: the producer got it and did not answer, so it may be applied
    /// later (a stopped producer that resumes applies it); a retry with the same `batch_id` is
    /// then answered `duplicate` and applies nothing twice.
    static let ingestTimedOut = "the producer did not answer in time; the batch may have been applied; retry with the same batch_id"

    /// The producer's reply; 503 when it cannot be had (not reachable, busy), and for an
    /// ingest the producer got but did not answer in time, 504.
    func forward(_ request: ControlRequest, to destination: ProducerRouter.Destination? = nil) async throws -> ControlAnswer {
        let answer: ControlAnswer
        do {
            let target = try (destination?.target.get() ?? control.defaultTarget)
            answer = try await control.send(request, to: target, timeout: timeout)
        } catch ControlClient.Failure.timedOut where request.isIngest {
            throw APIError(.gatewayTimeout, Self.ingestTimedOut)
        } catch let unreachable as ProducerRouter.Unreachable {
            throw APIError(.serviceUnavailable, unreachable.reason, headers: [.retryAfter: "1"])
        } catch {
            throw APIError(.serviceUnavailable, "\(error)", headers: [.retryAfter: "1"])
        }
        if answer.reply.retryable == true, let error = answer.reply.error {
            throw APIError(.serviceUnavailable, error, headers: [.retryAfter: "1"])
        }
        return answer
    }

    /// Asks the producer at `--control-endpoint` with the status deadline.
    func ask(_ request: ControlRequest) async throws -> ControlReply {
        try await control.send(request, timeout: Self.statusTimeout).reply
    }

    /// Asks every producer for `request` at once with the status deadline: each one's name and
    /// its reply, or why there is none, in name order.
    func askEveryProducer(_ request: ControlRequest, _ router: ProducerRouter) async -> [(producer: String, reply: Result<ControlReply, any Error>)] {
        let destinations = router.allDestinations
        return await withTaskGroup(of: (Int, Result<ControlReply, any Error>).self) { group in
            for (index, destination) in destinations.enumerated() {
                group.addTask {
                    do {
                        return (index, .success(try await control.send(request, to: try destination.target.get(), timeout: Self.statusTimeout).reply))
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
}
