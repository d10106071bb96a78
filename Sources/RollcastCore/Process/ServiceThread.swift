import ServiceLifecycle
import ZeroMQ

/// Runs a service's blocking loop (a ZeroMQ socket's, a timed loop's) on a thread of its own.
public enum ServiceThread {
    /// Runs `body` on a new thread named `name` until it returns.
    /// - Parameter stop: called once at a graceful shutdown or a cancellation; it must make
    ///   `body` return soon (shut the socket's context down, stop the loop's signal).
    public static func run(name: String, stop: @escaping @Sendable () -> Void, _ body: @escaping @Sendable () throws -> Void) async throws {
        try await withGracefulShutdownHandler {
            try await DedicatedThread.run(name: name, onCancel: stop, body)
        } onGracefulShutdown: {
            stop()
        }
    }
}
