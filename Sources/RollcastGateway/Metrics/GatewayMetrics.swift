import Foundation
import Prometheus
import RollcastCore
import Synchronization

/// Everything the gateway counts, exported at `GET /metrics` and read back by `/api/status`.
///
/// Recording stays off the per-client path: the fan-out adds up its writes per event loop and
/// records once per loop per snapshot (see ``SnapshotBroadcaster/publish(_:)``).
final class GatewayMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    private static let names = MetricNames(process: "gateway")

    /// Clients connected now, WebSocket and SSE (`--max-clients` bounds them together).
    let connected: ReadableGauge
    /// Of those, the clients on the delta stream (`rollcast.delta.v1`, `?stream=delta`).
    let deltaClients: ReadableGauge
    /// Of those, the Server-Sent Events clients (`/sse/realtime_charts`).
    let eventStreamClients: ReadableGauge
    /// Upgrades refused because the gateway had `--max-clients` clients.
    let refused: ReadableCounter
    /// TCP connections open now (HTTP and WebSocket).
    let connections: ReadableGauge
    /// Connections closed at once because the gateway had its maximum of connections.
    let connectionsRefused: ReadableCounter
    let slowClosed: ReadableCounter
    let pingTimeouts: ReadableCounter
    /// Clients that ended, by why; `slowClosed` and `pingTimeouts` are two of these.
    private let closed: [ClientCloseReason: ReadableCounter]

    let snapshotsReceived: ReadableCounter
    /// Frames handed to clients' sockets (one per client per snapshot it got).
    let snapshotsRelayed: ReadableCounter
    /// Snapshots replaced before a slow client could take them.
    let snapshotsSkipped: ReadableCounter
    let bytesSent: ReadableCounter
    /// From the producer's `generated_at` to the gateway handing the frame to the last socket of an event loop.
    let relayLatency: ValueHistogram
    private let snapshotAge: Gauge
    private let snapshotBytes: Gauge
    private let producersHeld: Gauge
    private let producersLive: Gauge
    private let hiddenSymbols: Gauge
    /// 1 for the feed's state now, 0 for the others.
    private let feed: [FeedState: Gauge]
    private let upgradesRefused = Mutex<[Int: ReadableCounter]>([:])
    private let requests = Mutex<[RequestKey: ReadableCounter]>([:])

    struct RequestKey: Hashable {
        let route: String
        let status: Int
    }

    init() {
        let names = Self.names
        let registry = PrometheusCollectorRegistry()
        self.registry = registry
        connected = registry.readableGauge(names, "clients", help: "Clients connected now, WebSocket and Server-Sent Events.")
        deltaClients = registry.readableGauge(names, "delta_clients", help: "Clients connected now on the delta stream (rollcast.delta.v1, or ?stream=delta on SSE).")
        eventStreamClients = registry.readableGauge(names, "sse_clients", help: "Server-Sent Events clients connected now (/sse/realtime_charts).")
        refused = registry.readableCounter(names, "clients_refused", help: "WebSocket upgrades and event streams refused because the gateway had --max-clients clients.")
        connections = registry.readableGauge(names, "connections", help: "TCP connections open now, HTTP and WebSocket.")
        connectionsRefused = registry.readableCounter(
            names, "connections_refused", help: "Connections closed before a byte was read because the gateway had its maximum of connections."
        )
        var closed: [ClientCloseReason: ReadableCounter] = [:]
        for reason in ClientCloseReason.allCases {
            closed[reason] = registry.readableCounter(
                names, "clients_closed", labels: [("reason", reason.rawValue)],
                help: "Clients that ended, by reason: client (it closed or its connection ended), too_slow (1008; an SSE stream is closed), ping_timeout (1001), protocol_error (1002), message_too_large (1009), token_expired (1008; an SSE stream ends), shutdown (1001; an SSE stream ends)."
            )
        }
        self.closed = closed
        slowClosed = closed[.tooSlow]!
        pingTimeouts = closed[.pingTimeout]!
        snapshotsReceived = registry.readableCounter(names, "snapshots_received", help: "Snapshots received from the producer.")
        snapshotsRelayed = registry.readableCounter(names, "snapshots_relayed", help: "Snapshot frames handed to clients' sockets, one per client per snapshot.")
        snapshotsSkipped = registry.readableCounter(names, "snapshots_skipped", help: "Snapshots a slow client missed: replaced by a newer one before its socket could take it.")
        bytesSent = registry.readableCounter(names, "sent_bytes", help: "Snapshot payload bytes handed to clients' sockets (compressed where negotiated).")
        relayLatency = registry.makeValueHistogram(
            descriptor: names.descriptor("relay_latency", unit: "seconds", help: "From the producer's generated_at to the frame handed to the last client socket of an event loop; one observation per event loop per snapshot."),
            labels: [], buckets: latencyBuckets
        )
        snapshotAge = registry.makeGauge(
            descriptor: names.descriptor("snapshot_age", unit: "seconds", help: "Seconds since the latest snapshot arrived; +Inf before the first."), labels: []
        )
        snapshotBytes = registry.makeGauge(descriptor: names.descriptor("snapshot", unit: "bytes", help: "Size of the latest snapshot's JSON."), labels: [])
        snapshotAge.set(to: .infinity)
        producersHeld = registry.makeGauge(
            descriptor: names.descriptor("producers", help: "Producers whose charts the latest message holds (several through a broker)."), labels: []
        )
        producersLive = registry.makeGauge(
            descriptor: names.descriptor("producers_live", help: "Of those, the producers whose last snapshot is at most 3 of their intervals old."), labels: []
        )
        hiddenSymbols = registry.makeGauge(
            descriptor: names.descriptor("hidden_symbols", help: "Symbols a producer sends that another producer's chart is shown for (two producers claiming one symbol)."),
            labels: []
        )
        var feed: [FeedState: Gauge] = [:]
        for state in FeedState.allCases {
            feed[state] = registry.makeGauge(
                descriptor: names.descriptor(
                    "feed",
                    help: "The feed's state now (1) and the others (0): live (some producer's snapshot within 3 of its intervals), stale (the last snapshot is older; clients are served it), no_producer (none yet)."
                ),
                labels: [("state", state.label)]
            )
        }
        self.feed = feed
        observeLatest(nil)
    }

    func closed(_ reason: ClientCloseReason) { closed[reason]?.increment() }

    /// One answered HTTP request; `route` is a known route, `static` or `other`, so the label set stays small.
    func countRequest(route: String, status: Int) {
        let key = RequestKey(route: route, status: status)
        let counter = requests.withLock { counters in
            if let counter = counters[key] { return counter }
            let counter = registry.readableCounter(
                Self.names, "http_requests", labels: [("route", route), ("status", "\(status)")], help: "HTTP requests answered, by route and status."
            )
            counters[key] = counter
            return counter
        }
        counter.increment()
    }

    /// A WebSocket upgrade answered with an HTTP status instead of 101, or an event stream
    /// refused before it began.
    func countRefusedUpgrade(status: Int) {
        let counter = upgradesRefused.withLock { counters in
            if let counter = counters[status] { return counter }
            let counter = registry.readableCounter(
                Self.names, "upgrades_refused", labels: [("status", "\(status)")],
                help: "WebSocket upgrades answered with an HTTP status instead of 101, and event streams refused before they began (400 bad query, 403 origin, 421 host, 401/403 token, 503 full...)."
            )
            counters[status] = counter
            return counter
        }
        counter.increment()
    }

    /// Sets the gauges read at scrape time from the latest snapshot.
    func observeLatest(_ snapshot: RelayedSnapshot?) {
        let state = FeedState(snapshot, at: .now)
        for (each, gauge) in feed { gauge.set(to: each == state ? 1 : 0) }
        guard let snapshot else { return }
        let age = snapshot.receivedAt.duration(to: .now)
        snapshotAge.set(to: Double(age.components.seconds) + Double(age.components.attoseconds) / 1e18)
        snapshotBytes.set(to: Double(snapshot.payload.readableBytes))
        let now = ContinuousClock.now
        producersHeld.set(to: Double(snapshot.sources.count))
        producersLive.set(to: Double(snapshot.sources.filter { $0.isLive(at: now) }.count))
        hiddenSymbols.set(to: Double(snapshot.sources.reduce(0) { $0 + $1.hiddenSymbols.count }))
    }

    /// Seconds from `generatedAtMilliseconds` (the producer's clock) to now, never below zero.
    static func secondsSince(generatedAtMilliseconds: Int64) -> Double {
        max(0, Date().timeIntervalSince1970 - Double(generatedAtMilliseconds) / 1000)
    }
}

/// Why a WebSocket client ended.
enum ClientCloseReason: String, CaseIterable, Sendable {
    /// The client closed, or its connection ended without a close frame.
    case client
    case tooSlow = "too_slow"
    case pingTimeout = "ping_timeout"
    case protocolError = "protocol_error"
    case messageTooLarge = "message_too_large"
    /// The token the client connected with expired (1008).
    case tokenExpired = "token_expired"
    case shutdown
}
