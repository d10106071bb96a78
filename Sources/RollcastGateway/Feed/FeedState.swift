/// What the gateway's feed is doing, as `/readyz`, `/api/status` and `/metrics` report it.
///
/// Serving is not the feed: a gateway whose producers (or broker) are gone still holds the
/// last snapshot and serves it, marked stale, so `/readyz` stays 200 and no load balancer cuts
/// its browsers. Operators alert on this state instead (docs/operations.md).
enum FeedState: String, CaseIterable, Encodable, Sendable {
    /// Some producer's last snapshot is within 3 of its intervals.
    case live
    /// A snapshot is held, but no producer's is that recent.
    case stale
    /// No snapshot has arrived since the gateway started.
    case noProducer = "no producer"

    init(_ snapshot: RelayedSnapshot?, at now: ContinuousClock.Instant) {
        guard let snapshot else {
            self = .noProducer
            return
        }
        self = snapshot.sources.contains { $0.isLive(at: now) } ? .live : .stale
    }

    /// The state as a Prometheus label value: `no_producer`.
    var label: String { self == .noProducer ? "no_producer" : rawValue }
}
