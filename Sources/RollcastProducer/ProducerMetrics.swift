import Prometheus
import RollcastCore
import Synchronization

/// Everything the producer counts: exported as Prometheus text through the gateway's
/// `GET /metrics` (the control command `metrics`), and read back for the `status` command.
final class ProducerMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    private static let names = MetricNames(process: "producer")

    /// What the windows did with ticks, from every source (mock feed, loads, ingest, replay).
    let appended: ReadableCounter
    let merged: ReadableCounter
    let inserted: ReadableCounter
    let tooOld: ReadableCounter
    let droppedByCap: ReadableCounter
    let volumesCapped: ReadableCounter
    let symbolsReleased: ReadableCounter

    /// Counters of one way ticks come in.
    struct Source: Sendable {
        let batches: ReadableCounter
        let ticks: ReadableCounter
        let duplicates: ReadableCounter
        let refused: [IngestRefusal: ReadableCounter]

        var refusedTotal: Int { refused.values.reduce(0) { $0 + $1.value } }
    }

    let http: Source
    let socket: Source

    let snapshotsPublished: ReadableCounter
    let snapshotBuild: ValueHistogram
    let snapshotEncode: ValueHistogram
    private let snapshotBytes: Gauge
    private let symbols: Gauge
    private let points: Gauge
    private let control: [ControlKey: ReadableCounter]

    struct ControlKey: Hashable {
        let command: String
        let outcome: String
    }

    static let controlCommands = ["load_mock_data", "ingest", "publish", "status", "metrics", "malformed"]
    static let controlOutcomes = ["ok", "refused", "unavailable"]

    init() {
        let names = Self.names
        let registry = PrometheusCollectorRegistry()
        self.registry = registry
        func ticks(_ outcome: String, _ help: String) -> ReadableCounter {
            registry.readableCounter(names, "ticks", labels: [("outcome", outcome)], help: "Ticks the windows took or dropped, by outcome: \(help).")
        }
        let outcomes = "appended, merged (same time as a tick held), inserted (late), too_old (older than the window, dropped), dropped_by_cap (oldest dropped at --max-ticks-per-window)"
        appended = ticks("appended", outcomes)
        merged = ticks("merged", outcomes)
        inserted = ticks("inserted", outcomes)
        tooOld = ticks("too_old", outcomes)
        droppedByCap = ticks("dropped_by_cap", outcomes)
        volumesCapped = registry.readableCounter(names, "volumes_capped", help: "Merged volumes held at the largest finite number instead of overflowing.")
        symbolsReleased = registry.readableCounter(names, "symbols_released", help: "Symbols forgotten after their window stayed empty for --forget-empty-after.")
        func makeSource(_ name: String) -> Source {
            Source(
                batches: registry.readableCounter(names, "ingest_batches", labels: [("source", name)], help: "Ingest batches applied, by source (http, socket)."),
                ticks: registry.readableCounter(names, "ingest_ticks", labels: [("source", name)], help: "Ticks in the ingest batches applied, by source."),
                duplicates: registry.readableCounter(
                    names, "ingest_duplicates", labels: [("source", name)], help: "Ingest batches whose batch_id was applied before; they changed nothing."
                ),
                refused: Dictionary(
                    uniqueKeysWithValues: IngestRefusal.allCases.map { reason in
                        (
                            reason,
                            registry.readableCounter(
                                names, "ingest_refused", labels: [("source", name), ("reason", reason.rawValue)],
                                help: "Ingest batches refused, by source and reason: invalid (malformed, or a tick broke a rule), limit (the symbol limit), unavailable (not durable, stopping)."
                            )
                        )
                    }
                )
            )
        }
        http = makeSource("http")
        socket = makeSource("socket")
        snapshotsPublished = registry.readableCounter(names, "snapshots_published", help: "Snapshots published on the PUB socket.")
        snapshotBuild = registry.makeValueHistogram(
            descriptor: names.descriptor("snapshot_build", unit: "seconds", help: "Time to copy (and downsample) every window for one snapshot, under the windows' lock."),
            labels: [], buckets: latencyBuckets
        )
        snapshotEncode = registry.makeValueHistogram(
            descriptor: names.descriptor("snapshot_encode", unit: "seconds", help: "Time to encode one snapshot: the full message and the delta from the one before."), labels: [], buckets: latencyBuckets
        )
        snapshotBytes = registry.makeGauge(descriptor: names.descriptor("snapshot", unit: "bytes", help: "Size of the last snapshot's JSON."), labels: [])
        symbols = registry.makeGauge(descriptor: names.descriptor("symbols", help: "Symbols held."), labels: [])
        points = registry.makeGauge(descriptor: names.descriptor("points", help: "Ticks held in all windows."), labels: [])
        var control: [ControlKey: ReadableCounter] = [:]
        for command in Self.controlCommands {
            for outcome in Self.controlOutcomes {
                control[ControlKey(command: command, outcome: outcome)] = registry.readableCounter(
                    names, "control_requests", labels: [("command", command), ("outcome", outcome)],
                    help: "Control-socket requests, by command and outcome (refused: the request was wrong; unavailable: the producer could not, try again)."
                )
            }
        }
        self.control = control
    }

    func source(_ source: IngestPipeline.Source) -> Source {
        switch source {
        case .http: http
        case .socket: socket
        }
    }

    /// Adds what the windows did with one batch or round.
    func record(_ counts: RollingWindow.Counts) {
        if counts.appended > 0 { appended.increment(by: counts.appended) }
        if counts.merged > 0 { merged.increment(by: counts.merged) }
        if counts.inserted > 0 { inserted.increment(by: counts.inserted) }
        if counts.tooOld > 0 { tooOld.increment(by: counts.tooOld) }
        if counts.droppedByCap > 0 { droppedByCap.increment(by: counts.droppedByCap) }
        if counts.volumesCapped > 0 { volumesCapped.increment(by: counts.volumesCapped) }
    }

    /// The windows' counts since start.
    var totals: RollingWindow.Counts {
        var totals = RollingWindow.Counts()
        totals.appended = appended.value
        totals.merged = merged.value
        totals.inserted = inserted.value
        totals.tooOld = tooOld.value
        totals.droppedByCap = droppedByCap.value
        totals.volumesCapped = volumesCapped.value
        return totals
    }

    func recordSnapshot(bytes: Int) {
        snapshotsPublished.increment()
        snapshotBytes.set(to: Double(bytes))
    }

    func countControl(command: String, outcome: String) {
        control[ControlKey(command: command, outcome: outcome)]?.increment()
    }

    /// The exposition text, with the gauges read at scrape time set first.
    func exposition(symbols: Int, points: Int) -> [UInt8] {
        self.symbols.set(to: Double(symbols))
        self.points.set(to: Double(points))
        return registry.exposition()
    }
}

/// Why an ingest batch was refused, as the metric's `reason` label.
enum IngestRefusal: String, CaseIterable, Sendable {
    /// Malformed, or a tick broke a rule.
    case invalid
    /// The windows refused it: new symbols past `--max-symbols`.
    case limit
    /// The producer could not: not durable, or stopping.
    case unavailable
}
