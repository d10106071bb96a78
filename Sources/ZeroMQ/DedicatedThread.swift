import Foundation

/// Runs blocking work, such as a ZeroMQ socket's receive loop, on a thread of its own.
///
/// ZeroMQ sockets must stay on one thread and block while they wait; doing that on the
/// cooperative pool would starve every other task. The caller awaits the thread's end.
public enum DedicatedThread {
    /// Starts `body` on a new thread and returns (or throws) what it does.
    /// - Parameters:
    ///   - name: the thread's name, shown by debuggers and `top -H`.
    ///   - onCancel: called once if the awaiting task is cancelled; it must make `body`
    ///     return soon (for example by shutting down the socket's context).
    public static func run<Result: Sendable>(
        name: String,
        onCancel: @escaping @Sendable () -> Void,
        _ body: @escaping @Sendable () throws -> Result
    ) async throws -> Result {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let thread = Thread {
                    continuation.resume(with: Swift.Result { try body() })
                }
                thread.name = name
                thread.start()
            }
        } onCancel: {
            onCancel()
        }
    }
}
