import ArgumentParser
import Foundation
import Logging
import RollcastCore
import RollcastProducer

@main
struct ProducerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollcast-producer",
        abstract: "Keeps a rolling window per symbol and publishes one full snapshot per interval over ZeroMQ.",
        discussion: "Every option can also be set by the environment variable named in its help; a flag wins over the environment."
    )

    @Option(help: "Folder for the Unix sockets, created private if missing. (ROLLCAST_RUN_DIR; default $XDG_RUNTIME_DIR/rollcast or /tmp/rollcast-<uid>)")
    var runDir: String?

    @Option(help: "ZeroMQ endpoint to publish snapshots on, ipc:// or tcp://. (ROLLCAST_SNAPSHOT_ENDPOINT; default ipc://<run dir>/snapshots.sock)")
    var snapshotEndpoint: String?

    @Option(help: "ZeroMQ endpoint for control commands. (ROLLCAST_CONTROL_ENDPOINT; default ipc://<run dir>/control.sock)")
    var controlEndpoint: String?

    @Option(help: "ZeroMQ endpoint where feed handlers push batches (PULL), ipc:// or tcp://. (ROLLCAST_INGEST_ENDPOINT; default ipc://<run dir>/ingest.sock)")
    var ingestEndpoint: String?

    @Option(help: "Seconds between snapshots, at least 0.1. (ROLLCAST_INTERVAL; default 2)")
    var interval: Double?

    @Option(help: "Rolling window length in seconds. (ROLLCAST_WINDOW; default 300)")
    var window: Double?

    @Flag(inversion: .prefixedNo, help: "Tick the default mock symbols from the start. (ROLLCAST_MOCK_FEED=0 turns it off)")
    var mockFeed: Bool?

    @Option(help: "Comma-separated symbols of the default mock feed. (ROLLCAST_MOCK_SYMBOLS; default \(ProducerConfiguration.defaultMockSymbols.joined(separator: ",")))")
    var mockSymbols: String?

    @Option(help: "Ticks per second for each mock symbol, 0.1 to 1000. (ROLLCAST_MOCK_RATE; default 2)")
    var mockRate: Double?

    @Option(help: "Most symbols kept; loads past it are refused. (ROLLCAST_MAX_SYMBOLS; default 1000)")
    var maxSymbols: Int?

    @Option(help: "Most points per chart in a snapshot, reduced keeping each bucket's min and max; 0 sends every point. (ROLLCAST_MAX_POINTS; default 1000)")
    var maxPoints: Int?

    @Option(help: "Seconds a tick's t may lie ahead of the producer's clock; later ticks are refused. (ROLLCAST_MAX_FUTURE_SKEW; default 5)")
    var maxFutureSkew: Double?

    @Option(help: "Most ticks a window holds; past it the oldest go first. (ROLLCAST_MAX_TICKS_PER_WINDOW; default 100000)")
    var maxTicksPerWindow: Int?

    @Option(help: "Seconds a window may stay empty before its symbol is forgotten and its slot freed; mock symbols never are. (ROLLCAST_FORGET_EMPTY_AFTER; default 60)")
    var forgetEmptyAfter: Double?

    @Option(help: "Folder for the journal of acknowledged ticks (SQLite); windows survive a restart. Unset keeps everything in memory. (ROLLCAST_DATA_DIR)")
    var dataDir: String?

    @Option(help: "Replay this CSV file of ticks (header naming t, symbol, price, optional volume) instead of the mock feed; the windows follow the file's clock. (ROLLCAST_REPLAY)")
    var replay: String?

    @Option(help: "With --replay: N times the file's pace, or max for as fast as possible. (ROLLCAST_REPLAY_SPEED; default 1)")
    var speed: String?

    @Flag(help: "With --replay: start the file again when it ends. (ROLLCAST_REPLAY_LOOP=1)")
    var loop = false

    @Flag(help: "With --replay: leave bad rows out (counted and logged) instead of stopping at the first. (ROLLCAST_REPLAY_SKIP_BAD=1)")
    var skipBad = false

    @Option(help: "Most points in a whole snapshot; with many symbols each chart gets its share (at least 4). 0 is no limit. (ROLLCAST_MAX_SNAPSHOT_POINTS; default 250000)")
    var maxSnapshotPoints: Int?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical. (ROLLCAST_LOG_LEVEL; default info)")
    var logLevel: String?

    func run() async throws {
        ProcessSignals.unblockAll()
        let settings = SettingResolver()
        let runDirectory = RunDirectory(path: try settings.resolve(runDir, env: "ROLLCAST_RUN_DIR", default: RunDirectory.defaultPath()))
        let interval = try settings.resolve(interval, env: "ROLLCAST_INTERVAL", default: 2.0)
        let window = try settings.resolve(window, env: "ROLLCAST_WINDOW", default: 300.0)
        let mockRate = try settings.resolve(mockRate, env: "ROLLCAST_MOCK_RATE", default: 2.0)
        let maxSymbols = try settings.resolve(maxSymbols, env: "ROLLCAST_MAX_SYMBOLS", default: 1_000)
        let feedOn = try settings.resolve(mockFeed, env: "ROLLCAST_MOCK_FEED", default: true)
        let symbolList = try settings.resolve(mockSymbols, env: "ROLLCAST_MOCK_SYMBOLS", default: ProducerConfiguration.defaultMockSymbols.joined(separator: ","))
        guard interval >= 0.1, interval <= 3600 else { throw ValidationError("--interval must be between 0.1 and 3600 seconds") }
        guard window > 0, window <= 86_400 else { throw ValidationError("--window must be between 0 and 86400 seconds") }
        guard mockRate >= 0.1, mockRate <= 1000 else { throw ValidationError("--mock-rate must be between 0.1 and 1000") }
        guard maxSymbols >= 1 else { throw ValidationError("--max-symbols must be at least 1") }
        let maxPoints = try settings.resolve(maxPoints, env: "ROLLCAST_MAX_POINTS", default: 1_000)
        guard maxPoints == 0 || maxPoints >= Downsampler.minimumPoints else {
            throw ValidationError("--max-points must be 0 (off) or at least \(Downsampler.minimumPoints)")
        }
        let maxSnapshotPoints = try settings.resolve(maxSnapshotPoints, env: "ROLLCAST_MAX_SNAPSHOT_POINTS", default: 250_000)
        guard maxSnapshotPoints >= 0 else { throw ValidationError("--max-snapshot-points must be 0 (no limit) or more") }
        let maxFutureSkew = try settings.resolve(maxFutureSkew, env: "ROLLCAST_MAX_FUTURE_SKEW", default: 5.0)
        guard maxFutureSkew >= 0, maxFutureSkew <= 86_400 else { throw ValidationError("--max-future-skew must be between 0 and 86400 seconds") }
        let maxTicksPerWindow = try settings.resolve(maxTicksPerWindow, env: "ROLLCAST_MAX_TICKS_PER_WINDOW", default: 100_000)
        guard maxTicksPerWindow >= 1, maxTicksPerWindow <= 10_000_000 else {
            throw ValidationError("--max-ticks-per-window must be between 1 and 10000000")
        }
        let forgetEmptyAfter = try settings.resolve(forgetEmptyAfter, env: "ROLLCAST_FORGET_EMPTY_AFTER", default: 60.0)
        guard forgetEmptyAfter >= 0 else { throw ValidationError("--forget-empty-after must be 0 or more seconds") }
        var symbols: [String] = []
        if feedOn {
            do {
                symbols = try symbolList.split(separator: ",").map { try Symbol.validated(String($0)) }
            } catch {
                throw ValidationError("--mock-symbols: \(error)")
            }
        }
        let dataDirectory = settings.resolve(dataDir, env: "ROLLCAST_DATA_DIR", default: nil)
        var replayConfiguration: ProducerConfiguration.Replay?
        if let path = settings.resolve(replay, env: "ROLLCAST_REPLAY", default: nil) {
            let speedText = settings.resolve(speed, env: "ROLLCAST_REPLAY_SPEED", default: "1")!
            guard let speed = ReplaySpeed(speedText) else { throw ValidationError("--speed must be a number above 0 or max, not '\(speedText)'") }
            guard dataDirectory == nil else { throw ValidationError("--replay and --data-dir cannot be used together: a replay is not kept") }
            replayConfiguration = .init(
                path: path, speed: speed, loop: try settings.resolve(loop ? true : nil, env: "ROLLCAST_REPLAY_LOOP", default: false),
                skipBad: try settings.resolve(skipBad ? true : nil, env: "ROLLCAST_REPLAY_SKIP_BAD", default: false)
            )
        } else if speed != nil || loop || skipBad {
            throw ValidationError("--speed, --loop and --skip-bad go with --replay FILE")
        }
        let logger = try LoggerSetup.make(label: "rollcast.producer", level: settings.resolve(logLevel, env: "ROLLCAST_LOG_LEVEL", default: "info"))
        let configuration = ProducerConfiguration(
            runDirectory: runDirectory,
            snapshotEndpoint: settings.resolve(snapshotEndpoint, env: "ROLLCAST_SNAPSHOT_ENDPOINT", default: runDirectory.snapshotEndpoint),
            controlEndpoint: settings.resolve(controlEndpoint, env: "ROLLCAST_CONTROL_ENDPOINT", default: runDirectory.controlEndpoint),
            ingestEndpoint: settings.resolve(ingestEndpoint, env: "ROLLCAST_INGEST_ENDPOINT", default: runDirectory.ingestEndpoint),
            interval: interval,
            windowSeconds: window,
            mockSymbols: symbols,
            mockRate: mockRate,
            maxSymbols: maxSymbols,
            maxPoints: maxPoints,
            maxSnapshotPoints: maxSnapshotPoints,
            maxFutureSkew: maxFutureSkew,
            maxTicksPerWindow: maxTicksPerWindow,
            forgetEmptyAfter: forgetEmptyAfter,
            dataDirectory: dataDirectory,
            replay: replayConfiguration
        )
        try await Producer(configuration: configuration, logger: logger).run()
    }
}
