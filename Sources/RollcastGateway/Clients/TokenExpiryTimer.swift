import Foundation
import NIOCore

/// A token ends what it grants when it expires, an open stream included: the client is closed
/// then and, reconnecting with the same token, gets a 401 that says why.
enum TokenExpiryTimer {
    /// Tokens that outlive this are not watched: no connection lives that long, and a timer
    /// cannot be set that far (it would overflow).
    static let longestWatched: TimeInterval = 400 * 86_400

    /// Runs `expire` when `expiry` comes, unless the channel closed first.
    /// - Important: call on the channel's event loop.
    static func schedule(on channel: any Channel, at expiry: Date, _ expire: @escaping () -> Void) {
        let remaining = expiry.timeIntervalSinceNow
        guard remaining < longestWatched else { return }
        let timer = channel.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(Int64(max(0, remaining) * 1_000))) { expire() }
        // Cancelling searches the event loop's timers (linear in them); a close is rare enough.
        channel.closeFuture.whenComplete { _ in timer.cancel() }
    }
}
