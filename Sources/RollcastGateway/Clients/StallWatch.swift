import NIOCore

/// Notices a socket that stays unwritable for a whole `limit`: its client has stopped reading
/// (a frozen tab, a dead network). Until then the gateway holds at most one snapshot for it.
///
/// One timer per spell at most: a socket that flips back to writable leaves the check
/// scheduled, and the check finds nothing to do (not cancelling saves a timer per flip; a
/// snapshot larger than the write buffer flips every socket twice).
/// - Important: use on the channel's event loop only.
final class StallWatch {
    private let limit: TimeAmount
    private let eventLoop: any EventLoop
    private let onStall: () -> Void
    /// When the socket last became unwritable; nil while it is writable.
    private var unwritableSince: NIODeadline?
    private var check: Scheduled<Void>?

    /// - Parameter onStall: called on `eventLoop` once the socket has been unwritable for `limit`.
    init(limit: TimeAmount, eventLoop: any EventLoop, onStall: @escaping () -> Void) {
        self.limit = limit
        self.eventLoop = eventLoop
        self.onStall = onStall
    }

    func writabilityChanged(writable: Bool) {
        guard !writable else {
            unwritableSince = nil
            return
        }
        let now = eventLoop.now
        unwritableSince = now
        if check == nil { scheduleCheck(at: now + limit) }
    }

    func cancel() {
        check?.cancel()
        check = nil
    }

    /// Stalled at `deadline` if unwritable for the whole limit by then; if it became unwritable
    /// again since, checks once more when that spell is due.
    private func scheduleCheck(at deadline: NIODeadline) {
        check = eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            check = nil
            guard let since = unwritableSince else { return }
            let due = since + limit
            if due <= eventLoop.now {
                onStall()
            } else {
                scheduleCheck(at: due)
            }
        }
    }
}
