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

    @Option(help: ArgumentHelp(ProducerSettings.interval.help("Seconds between snapshots, at least 0.1.")))
    var interval: Double?

    @Option(help: ArgumentHelp(ProducerSettings.window.help("Rolling window length: seconds, or a number with a unit s, m, h, d, w or y (365.25 days), up to 100y.")))
    var window: String?

    @Flag(inversion: .prefixedNo, help: "Tick the default mock symbols from the start. (ROLLCAST_MOCK_FEED=0 turns it off)")
    var mockFeed: Bool?

    @Option(help: ArgumentHelp(ProducerSettings.mockSymbols.help("Comma-separated symbols of the default mock feed.")))
    var mockSymbols: String?

    @Option(help: ArgumentHelp(ProducerSettings.mockRate.help("Ticks per second for each mock symbol, 0.1 to 1000.")))
    var mockRate: Double?

    @Option(help: ArgumentHelp(ProducerSettings.maxSymbols.help("Most symbols kept; loads past it are refused.")))
    var maxSymbols: Int?

    @Option(help: ArgumentHelp(ProducerSettings.maxPoints.help("Most points per chart in a snapshot, reduced keeping each bucket's min and max; 0 sends every point.")))
    var maxPoints: Int?

    @Option(help: ArgumentHelp(ProducerSettings.maxFutureSkew.help("Seconds a tick's t may lie ahead of the producer's clock; later ticks are refused.")))
    var maxFutureSkew: Double?

    @Option(help: ArgumentHelp(ProducerSettings.maxTicksPerWindow.help("Most ticks a window holds; past it the oldest go first.")))
    var maxTicksPerWindow: Int?

    @Option(help: ArgumentHelp(ProducerSettings.forgetEmptyAfter.help("Seconds a window may stay empty before its symbol is forgotten and its slot freed; mock symbols never are.")))
    var forgetEmptyAfter: Double?

    @Option(help: "Folder for the journal of acknowledged ticks (SQLite); windows survive a restart. Unset keeps everything in memory. (ROLLCAST_DATA_DIR)")
    var dataDir: String?

    @Option(help: "Replay this CSV file (plain or .gz), or every .csv and .gz file of this folder, instead of the mock feed; repeatable, rows merged in time order; the windows follow the files' clock. (ROLLCAST_REPLAY, comma-separated)")
    var replay: [String] = []

    @Option(help: ArgumentHelp(ProducerSettings.speed.help("With --replay: N times the file's pace, or max for as fast as possible.")))
    var speed: String?

    @Flag(help: "With --replay: start the file again when it ends. (ROLLCAST_REPLAY_LOOP=1)")
    var loop = false

    @Flag(help: "With --replay: leave bad rows out (counted and logged) instead of stopping at the first. (ROLLCAST_REPLAY_SKIP_BAD=1)")
    var skipBad = false

    @Option(help: "With --replay: read every time with this strftime-style pattern (%Y-%m-%d %H:%M, %d/%m/%Y, %s …) instead of choosing the format from the column. (ROLLCAST_REPLAY_TIME_FORMAT)")
    var timeFormat: String?

    @Option(help: ArgumentHelp(ProducerSettings.timeZone.help("With --replay: the IANA time zone (Europe/London, America/New_York) of times that do not name one.")))
    var timeZone: String?

    @Option(help: ArgumentHelp(ProducerSettings.timeUnit.help("With --replay: the unit of numeric times: s, ms, us or ns.")))
    var timeUnit: String?

    @Option(help: "With --replay: the value columns, comma-separated, each a series named after its column, or <symbol>:<column> in a file with a symbol column. Without it: price, or every numeric column of a file that has none. (ROLLCAST_REPLAY_COLUMNS)")
    var columns: String?

    @Option(help: "With --replay: the series name of a file without a symbol column, instead of the file's name. (ROLLCAST_REPLAY_SYMBOL)")
    var symbol: String?

    @Option(help: ArgumentHelp(ProducerSettings.maxSnapshotPoints.help("Most points in a whole snapshot; with many symbols each chart gets its share (at least 5). 0 is no limit.")))
    var maxSnapshotPoints: Int?

    @Option(help: "Publish into a broker at this endpoint (its producer side) instead of binding --snapshot-endpoint; repeatable: every snapshot goes to every broker, so one can stop without a gap. (ROLLCAST_BROKER, comma-separated)")
    var broker: [String] = []

    @Option(help: "This producer's name in its snapshots: a broker keeps one last snapshot per name. (ROLLCAST_NAME; default the host name)")
    var name: String?

    @Option(help: "The control endpoint gateways are told to send this producer's writes to, when --control-endpoint is not what they reach (a wildcard address, NAT). (ROLLCAST_ADVERTISE_CONTROL; default --control-endpoint, a wildcard host replaced by the host name)")
    var advertiseControl: String?

    @Option(help: "File holding this producer's CURVE secret key (rollcast-keygen), readable by its owner only: tcp:// endpoints then encrypt and admit only --curve-allow keys. (ROLLCAST_CURVE_SECRET_KEY)")
    var curveSecretKey: String?

    @Option(help: "File of public keys (one per line) of gateways and feed handlers admitted on tcp:// endpoints; repeatable. (ROLLCAST_CURVE_ALLOW, comma-separated)")
    var curveAllow: [String] = []

    @Option(help: "File holding the broker's CURVE public key, for a tcp:// --broker; this producer's own key is --curve-secret-key. (ROLLCAST_CURVE_BROKER_KEY)")
    var curveBrokerKey: String?

    @Flag(help: "Bind tcp:// endpoints other machines can reach without CURVE; refused otherwise. (ROLLCAST_INSECURE_PLAINTEXT=1; default off)")
    var insecurePlaintext = false

    @Option(help: ArgumentHelp(ProducerSettings.logLevel.help("Log level: trace, debug, info, notice, warning, error, critical.")))
    var logLevel: String?

    func run() async throws {
        ProcessSignals.unblockAll()
        ProcessSignals.ignoreFileSizeLimitSignal()
        let settings = SettingResolver()
        let runDirectory = RunDirectory(path: try settings.resolve(runDir, env: "ROLLCAST_RUN_DIR", default: RunDirectory.defaultPath()))
        let interval = try settings.resolve(interval, ProducerSettings.interval)
        let windowText = try settings.resolve(window, ProducerSettings.window)
        guard let window = DurationText.seconds(windowText) else {
            throw ValidationError("--window must be seconds or a number with a unit (s, m, h, d, w, y), such as 300, 15m or 10y, not '\(windowText)'")
        }
        let mockRate = try settings.resolve(mockRate, ProducerSettings.mockRate)
        let maxSymbols = try settings.resolve(maxSymbols, ProducerSettings.maxSymbols)
        let feedOn = try settings.resolve(mockFeed, env: "ROLLCAST_MOCK_FEED", default: true)
        let symbolList = try settings.resolve(mockSymbols, ProducerSettings.mockSymbols)
        guard interval >= 0.1, interval <= 3600 else { throw ValidationError("--interval must be between 0.1 and 3600 seconds") }
        guard window > 0, window <= 100 * DurationText.year else { throw ValidationError("--window must be above 0 and at most 100y (3155760000 seconds)") }
        guard mockRate >= 0.1, mockRate <= 1000 else { throw ValidationError("--mock-rate must be between 0.1 and 1000") }
        guard maxSymbols >= 1 else { throw ValidationError("--max-symbols must be at least 1") }
        let maxPoints = try settings.resolve(maxPoints, ProducerSettings.maxPoints)
        guard maxPoints == 0 || maxPoints >= Downsampler.minimumPoints else {
            throw ValidationError("--max-points must be 0 (off) or at least \(Downsampler.minimumPoints)")
        }
        let maxSnapshotPoints = try settings.resolve(maxSnapshotPoints, ProducerSettings.maxSnapshotPoints)
        guard maxSnapshotPoints >= 0 else { throw ValidationError("--max-snapshot-points must be 0 (no limit) or more") }
        let maxFutureSkew = try settings.resolve(maxFutureSkew, ProducerSettings.maxFutureSkew)
        guard maxFutureSkew >= 0, maxFutureSkew <= 86_400 else { throw ValidationError("--max-future-skew must be between 0 and 86400 seconds") }
        let maxTicksPerWindow = try settings.resolve(maxTicksPerWindow, ProducerSettings.maxTicksPerWindow)
        guard maxTicksPerWindow >= 1, maxTicksPerWindow <= 10_000_000 else {
            throw ValidationError("--max-ticks-per-window must be between 1 and 10000000")
        }
        let forgetEmptyAfter = try settings.resolve(forgetEmptyAfter, ProducerSettings.forgetEmptyAfter)
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
        let replayConfiguration = try replaySettings(settings, persisting: dataDirectory != nil)
        let curve = try CurveServerSettings.resolve(
            secretKey: settings.resolve(curveSecretKey, env: "ROLLCAST_CURVE_SECRET_KEY", default: nil),
            allowFiles: curveAllow.isEmpty ? settings.list(env: "ROLLCAST_CURVE_ALLOW") : curveAllow,
            admitted: "gateways and feed handlers"
        )
        let endpoints = [
            settings.resolve(snapshotEndpoint, env: "ROLLCAST_SNAPSHOT_ENDPOINT", default: runDirectory.snapshotEndpoint),
            settings.resolve(controlEndpoint, env: "ROLLCAST_CONTROL_ENDPOINT", default: runDirectory.controlEndpoint),
            settings.resolve(ingestEndpoint, env: "ROLLCAST_INGEST_ENDPOINT", default: runDirectory.ingestEndpoint),
        ].compactMap { $0 }
        let plaintextAllowed = try settings.resolve(insecurePlaintext ? true : nil, env: "ROLLCAST_INSECURE_PLAINTEXT", default: false)
        for endpoint in endpoints {
            guard let host = ListenAddress.tcpHost(of: endpoint), !ListenAddress.isLoopback(host), curve == nil, !plaintextAllowed else { continue }
            throw ValidationError("\(endpoint) can be reached from other machines: give --curve-secret-key and --curve-allow (see docs/security.md), or --insecure-plaintext")
        }
        let logger = try LoggerSetup.make(label: "rollcast.producer", level: settings.resolve(logLevel, ProducerSettings.logLevel))
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
            replay: replayConfiguration,
            curve: curve,
            brokers: broker.isEmpty ? settings.list(env: "ROLLCAST_BROKER") : broker,
            brokerCurve: try brokerCurve(settings, own: curve),
            name: settings.resolve(name, env: "ROLLCAST_NAME", default: HostName.local) ?? HostName.local,
            advertisedControl: try checkedAdvertisement(settings.resolve(advertiseControl, env: "ROLLCAST_ADVERTISE_CONTROL", default: nil))
        )
        try await Producer(configuration: configuration, logger: logger).run()
    }
}

extension ProducerCommand {
    /// `--replay` and the flags that go with it; `nil` without `--replay`.
    func replaySettings(_ settings: SettingResolver, persisting: Bool) throws -> ProducerConfiguration.Replay? {
        let paths = replay.isEmpty ? settings.list(env: "ROLLCAST_REPLAY") : replay
        let pattern = settings.resolve(timeFormat, env: "ROLLCAST_REPLAY_TIME_FORMAT", default: nil)
        let chosenColumns = settings.resolve(columns, env: "ROLLCAST_REPLAY_COLUMNS", default: nil)
        let seriesName = settings.resolve(symbol, env: "ROLLCAST_REPLAY_SYMBOL", default: nil)
        guard !paths.isEmpty else {
            if speed != nil || loop || skipBad || pattern != nil || timeZone != nil || timeUnit != nil || chosenColumns != nil || seriesName != nil {
                throw ValidationError("--speed, --loop, --skip-bad, --time-format, --time-zone, --time-unit, --columns and --symbol go with --replay FILE")
            }
            return nil
        }
        guard !persisting else { throw ValidationError("--replay and --data-dir cannot be used together: a replay is not kept") }
        let speedText = try settings.resolve(speed, ProducerSettings.speed)
        guard let speed = ReplaySpeed(speedText) else { throw ValidationError("--speed must be a number above 0 or max, not '\(speedText)'") }
        var options = ReplayOptions(skipBad: try settings.resolve(skipBad ? true : nil, env: "ROLLCAST_REPLAY_SKIP_BAD", default: false))
        if let pattern {
            do {
                options.timePattern = try TimePattern(pattern)
            } catch {
                throw ValidationError(error.description)
            }
        }
        let zoneName = try settings.resolve(timeZone, ProducerSettings.timeZone)
        guard let zone = TimeZone(identifier: zoneName) else {
            throw ValidationError("--time-zone '\(zoneName)' is not an IANA time zone name such as UTC, Europe/London or America/New_York")
        }
        options.timeZone = zone
        let unitText = try settings.resolve(timeUnit, ProducerSettings.timeUnit)
        guard let unit = TimeUnit(rawValue: unitText) else { throw ValidationError("--time-unit must be s, ms, us or ns, not '\(unitText)'") }
        options.timeUnit = unit
        if let chosenColumns {
            let names = chosenColumns.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            guard !names.isEmpty else { throw ValidationError("--columns must name at least one column") }
            options.columns = names
        }
        if let seriesName {
            do {
                options.symbol = try Symbol.validated(seriesName)
            } catch {
                throw ValidationError("--symbol: \(error)")
            }
        }
        return .init(paths: paths, speed: speed, loop: try settings.resolve(loop ? true : nil, env: "ROLLCAST_REPLAY_LOOP", default: false), options: options)
    }

    /// An advertised control endpoint: `ipc://` or `tcp://host:port`, named so a gateway can connect.
    func checkedAdvertisement(_ endpoint: String?) throws -> String? {
        guard let endpoint else { return nil }
        if endpoint.hasPrefix("ipc:///") { return endpoint }
        if let host = ListenAddress.tcpHost(of: endpoint), !["", "*", "0.0.0.0", "::"].contains(host), endpoint.split(separator: ":").last.flatMap({ Int($0) }) != nil {
            return endpoint
        }
        throw ValidationError("--advertise-control must be ipc:///absolute/path or tcp://host:port with a host gateways can reach, not '\(endpoint)'")
    }

    /// CURVE for publishing into a `tcp://` broker: this producer's key pair and the broker's key.
    func brokerCurve(_ settings: SettingResolver, own: CurveServerSettings?) throws -> CurveClientSettings? {
        guard let path = settings.resolve(curveBrokerKey, env: "ROLLCAST_CURVE_BROKER_KEY", default: nil) else { return nil }
        guard let own else { throw ValidationError("--curve-broker-key goes with --curve-secret-key (this producer's own key)") }
        return CurveClientSettings(keyPair: own.keyPair, serverKey: try CurveKeyFile.readPeerKey(path: path, flag: "--curve-broker-key", whose: "the broker's"))
    }
}

/// The settings with a fixed default, each declared once: its help text and its value come from here.
enum ProducerSettings {
    static let interval = Setting(env: "ROLLCAST_INTERVAL", default: 2.0)
    static let window = Setting(env: "ROLLCAST_WINDOW", default: "300")
    static let mockRate = Setting(env: "ROLLCAST_MOCK_RATE", default: 2.0)
    static let maxSymbols = Setting(env: "ROLLCAST_MAX_SYMBOLS", default: 1_000)
    static let maxPoints = Setting(env: "ROLLCAST_MAX_POINTS", default: 1_000)
    static let maxSnapshotPoints = Setting(env: "ROLLCAST_MAX_SNAPSHOT_POINTS", default: 250_000)
    static let maxFutureSkew = Setting(env: "ROLLCAST_MAX_FUTURE_SKEW", default: 5.0)
    static let maxTicksPerWindow = Setting(env: "ROLLCAST_MAX_TICKS_PER_WINDOW", default: 100_000)
    static let forgetEmptyAfter = Setting(env: "ROLLCAST_FORGET_EMPTY_AFTER", default: 60.0)
    static let logLevel = Setting(env: "ROLLCAST_LOG_LEVEL", default: "info")
    static let mockSymbols = Setting(env: "ROLLCAST_MOCK_SYMBOLS", default: ProducerConfiguration.defaultMockSymbols.joined(separator: ","))
    static let speed = Setting(env: "ROLLCAST_REPLAY_SPEED", default: "1")
    static let timeZone = Setting(env: "ROLLCAST_REPLAY_TIME_ZONE", default: "UTC")
    static let timeUnit = Setting(env: "ROLLCAST_REPLAY_TIME_UNIT", default: "s")
}
