import Logging
import ServiceLifecycle
import Synchronization

/// Stops the producer with an error when it can no longer keep its word: when an
/// acknowledged batch could not be made durable, a restart from what is on disk is the only
/// state that is sure to be true.
///
/// ``trigger(_:)`` refuses every later batch at once and makes ``run()`` throw, which ends the
/// service group and the process with a non-zero exit, for a supervisor to restart.
final class FailStop: Service, Sendable {
    private let reason = Mutex<String?>(nil)
    private let signal = AsyncStream<String>.makeStream(bufferingPolicy: .bufferingOldest(1))
    private let logger: Logger

    struct Stopped: Error, CustomStringConvertible {
        let reason: String
        var description: String { reason }
    }

    init(logger: Logger) {
        self.logger = logger
    }

    /// Why the producer is stopping, once it is.
    var stoppingReason: String? { reason.withLock { $0 } }

    func trigger(_ why: String) {
        let first = reason.withLock { reason in
            defer { reason = reason ?? why }
            return reason == nil
        }
        guard first else { return }
        logger.critical("producer stopping", metadata: ["reason": "\(why)"])
        signal.continuation.yield(why)
    }

    /// How long the producer goes on after the trigger, refusing every batch, so that the
    /// answers already decided (the 503 of the batch that could not be made durable) leave their
    /// sockets before the stop closes them: sockets close with no linger, and a dropped answer
    /// would reach its client as a 504 "may have been applied" instead.
    static let answerGrace: Duration = .milliseconds(200)

    func run() async throws {
        for await why in signal.stream.cancelOnGracefulShutdown() {
            try? await Task.sleep(for: Self.answerGrace)
            throw Stopped(reason: why)
        }
    }
}
