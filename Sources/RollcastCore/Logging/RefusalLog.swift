import Logging
import Synchronization

/// Logs refusals at most once a second, with how many were left out in between: a sender
/// that keeps sending bad requests cannot flood the log.
public final class RefusalLog: Sendable {
    private let logger: Logger
    private let message: Logger.Message
    private let state = Mutex<(lastLogged: ContinuousClock.Instant?, unlogged: Int)>((nil, 0))

    public init(logger: Logger, message: Logger.Message) {
        self.logger = logger
        self.message = message
    }

    /// - Parameter metadata: more about this refusal (a status, say), logged with it if it is logged.
    public func note(_ reason: String, metadata: Logger.Metadata = [:]) {
        let now = ContinuousClock.now
        let unlogged: Int? = state.withLock { state in
            if let last = state.lastLogged, last.duration(to: now) < .seconds(1) {
                state.unlogged += 1
                return nil
            }
            defer { state = (now, 0) }
            return state.unlogged
        }
        guard let unlogged else { return }
        logger.warning(message, metadata: metadata.merging(["reason": "\(reason)", "refused_since_last_line": "\(unlogged)"]) { $1 })
    }

    /// Logs how many were left out since the last line, if any (at shutdown).
    public func flush() {
        let unlogged = state.withLock { state in
            defer { state.unlogged = 0 }
            return state.unlogged
        }
        guard unlogged > 0 else { return }
        logger.warning(message, metadata: ["refused_since_last_line": "\(unlogged)"])
    }
}
