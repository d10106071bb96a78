import Foundation
import Logging
import RollcastCore
import ServiceLifecycle

/// The producer process: mock feed → rolling windows → one snapshot per interval on ZeroMQ.
public struct Producer: Sendable {
    public let configuration: ProducerConfiguration
    public let logger: Logger

    public init(configuration: ProducerConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Runs until SIGINT or SIGTERM, then stops publishing and removes its socket files.
    public func run() async throws {
        try configuration.runDirectory.prepare()
        // Replayed files are read and checked whole before anything starts: a bad row stops here.
        var replayData: ReplayData?
        let readStarted = ContinuousClock.now
        if let replay = configuration.replay {
            let data = try ReplayData(paths: replay.paths, options: replay.options, maxSymbols: configuration.maxSymbols, now: Date().timeIntervalSince1970)
            for file in data.files {
                logger.info(
                    "replay file read",
                    metadata: [
                        "file": "\(file.path)", "ticks": "\(file.ticks)", "time_format": "\(file.timeFormat)", "time_example": "\(file.timeExample)",
                        "series": "\(file.series.isEmpty ? "price" : file.series.joined(separator: ","))",
                        "skipped_rows": "\(file.skipped)", "first_skipped": "\(file.firstSkipped ?? "none")",
                    ]
                )
            }
            replayData = data
        }
        let store = WindowStore(limits: configuration.windowLimits, clock: ProducerClock(configuration.replay == nil ? .wall : .replay))
        var replayer: Replayer?
        if let replay = configuration.replay, let replayData {
            let readSeconds = Double(readStarted.duration(to: .now).milliseconds) / 1_000
            replayer = Replayer(data: replayData, readSeconds: readSeconds, store: store, speed: replay.speed, loop: replay.loop, logger: logger)
        }
        // Bound first: a second producer is refused at once, and gateways reconnect while the
        // journal is read back.
        let files = SocketFileWatch()
        let publishing = try PublishingSocket(
            endpoint: configuration.snapshotEndpoint, brokers: configuration.brokers, watch: files,
            curve: configuration.curve, brokerCurve: configuration.brokerCurve, logger: logger
        )
        do {
            try await run(store: store, publishing: publishing, files: files, replayer: replayer)
        } catch {
            // Closing twice is harmless; the publisher closes it when it stops.
            publishing.close()
            throw error
        }
        logger.info("producer stopped")
    }

    private func run(store: WindowStore, publishing: PublishingSocket, files: SocketFileWatch, replayer: Replayer?) async throws {
        // With persistence, the windows are rebuilt before anything can publish or ingest.
        let (journal, ledger) = try restore(into: store)
        let failStop = FailStop(logger: logger)
        let ingest = IngestPipeline(
            store: store, rules: TickRules(maxFutureSkew: configuration.maxFutureSkew), journal: journal?.journal, failStop: failStop, ledger: ledger
        )
        let feed = try MockFeed(
            store: store,
            // A replay brings its own symbols and clock; the mock feed only answers load_mock_data.
            symbols: replayer == nil ? configuration.mockSymbols : [],
            seed: configuration.mockSeed,
            rate: configuration.mockRate,
            logger: logger
        )
        let publisher = SnapshotPublisher(
            store: store,
            socket: publishing,
            interval: configuration.interval,
            name: configuration.name,
            control: configuration.controlAddress,
            files: files,
            onLost: { failStop.trigger($0) },
            logger: logger
        )
        let control = ControlServer(
            endpoint: configuration.controlEndpoint,
            curve: configuration.curve,
            handler: ControlHandler(
                store: store, ingest: ingest, feed: feed, publisher: publisher, configuration: configuration, restored: journal, replayer: replayer
            ),
            files: files,
            logger: logger
        )
        logger.info(
            "producer starting",
            metadata: [
                "run_id": "\(store.runID)",
                "run_dir": "\(configuration.runDirectory.path)",
                "window_s": "\(configuration.windowSeconds)",
                "mock_symbols": "\(replayer == nil ? configuration.mockSymbols.joined(separator: ",") : "")",
            ]
        )
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: failStop),
            .init(service: feed),
            .init(service: publisher),
            .init(service: control),
            .init(service: IngestSocket(endpoint: configuration.ingestEndpoint, curve: configuration.curve, pipeline: ingest, files: files, logger: logger)),
        ]
        if let journal { services.append(.init(service: JournalUpkeep(journal: journal.journal, store: store, logger: logger))) }
        if let replayer { services.append(.init(service: replayer)) }
        let group = ServiceGroup(
            configuration: .init(
                services: services,
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await group.run()
    }

    /// A journal opened and read back, and how long that took.
    struct RestoredJournal {
        let journal: Journal
        let restoredTicks: Int
        let duration: Duration
    }

    /// Opens the journal in `--data-dir` and replays it into `store`.
    /// - Returns: the journal (none without `--data-dir`) and the batch ids it had applied.
    private func restore(into store: WindowStore) throws -> (RestoredJournal?, BatchLedger) {
        var ledger = BatchLedger()
        guard let directory = configuration.dataDirectory else { return (nil, ledger) }
        let started = ContinuousClock.now
        let journal = try Journal(directory: directory)
        let restored = try journal.restore(batchIDsSince: Date().timeIntervalSince1970 - BatchLedger.retention) { store.restore($0) }
        for entry in restored.batches { ledger.record(entry.id, result: entry.result, now: entry.appliedAt) }
        let duration = started.duration(to: .now)
        logger.info(
            "journal restored",
            metadata: [
                "path": "\(journal.path)", "chunks": "\(restored.chunks)", "ticks": "\(restored.ticks)", "batch_ids": "\(restored.batches.count)",
                "symbols": "\(store.summary().symbols.count)", "ms": "\(duration.milliseconds)",
            ]
        )
        return (RestoredJournal(journal: journal, restoredTicks: restored.ticks, duration: duration), ledger)
    }
}
