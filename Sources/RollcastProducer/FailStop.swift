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

    func run() async throws {
        for await why in signal.stream.cancelOnGracefulShutdown() {
            throw Stopped(reason: why)
        }
    }
}
