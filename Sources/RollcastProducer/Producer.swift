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
        let store = WindowStore(limits: configuration.windowLimits, clock: ProducerClock(.wall))
        let ingest = IngestPipeline(store: store, rules: TickRules(maxFutureSkew: configuration.maxFutureSkew))
        let feed = try MockFeed(
            store: store,
            symbols: configuration.mockSymbols,
            seed: configuration.mockSeed,
            rate: configuration.mockRate,
            logger: logger
        )
        let publisher = SnapshotPublisher(
            store: store,
            endpoint: configuration.snapshotEndpoint,
            interval: configuration.interval,
            logger: logger
        )
        let control = ControlServer(
            endpoint: configuration.controlEndpoint,
            handler: ControlHandler(store: store, ingest: ingest, feed: feed, publisher: publisher, configuration: configuration),
            logger: logger
        )
        logger.info(
            "producer starting",
            metadata: [
                "run_id": "\(store.runID)",
                "run_dir": "\(configuration.runDirectory.path)",
                "window_s": "\(configuration.windowSeconds)",
                "mock_symbols": "\(configuration.mockSymbols.joined(separator: ","))",
            ]
        )
        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: feed),
                    .init(service: publisher),
                    .init(service: control),
                    .init(service: IngestSocket(endpoint: configuration.ingestEndpoint, pipeline: ingest, logger: logger)),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await group.run()
        logger.info("producer stopped")
    }
}
