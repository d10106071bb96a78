import ArgumentParser
import Foundation
import Logging
import RollcastCore
import RollcastOptions
import RollcastProducer

@main
struct ProducerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollcast-producer",
        abstract: "Keeps a rolling window per symbol and publishes one full snapshot per interval over ZeroMQ.",
        discussion: "Every option can also be set by the environment variable named in its help; a flag wins over the environment."
    )

    @OptionGroup var common: CommonOptions

    @Option(help: .init(ProducerSettings.snapshotEndpoint))
    var snapshotEndpoint: String?

    @Option(help: .init(ProducerSettings.controlEndpoint))
    var controlEndpoint: String?

    @Option(help: .init(ProducerSettings.ingestEndpoint))
    var ingestEndpoint: String?

    @Option(help: .init(ProducerSettings.interval))
    var interval: Double?

    @Option(help: .init(ProducerSettings.window))
    var window: String?

    @Flag(inversion: .prefixedNo, help: .init(ProducerSettings.mockFeed))
    var mockFeed: Bool?

    @Option(help: .init(ProducerSettings.mockSymbols))
    var mockSymbols: String?

    @Option(help: .init(ProducerSettings.mockRate))
    var mockRate: Double?

    @Option(help: .init(ProducerSettings.maxSymbols))
    var maxSymbols: Int?

    @Option(help: .init(ProducerSettings.maxPoints))
    var maxPoints: Int?

    @Option(help: .init(ProducerSettings.maxFutureSkew))
    var maxFutureSkew: Double?

    @Option(help: .init(ProducerSettings.maxTicksPerWindow))
    var maxTicksPerWindow: Int?

    @Option(help: .init(ProducerSettings.forgetEmptyAfter))
    var forgetEmptyAfter: Double?

    @Option(help: .init(ProducerSettings.dataDir))
    var dataDir: String?

    @Option(help: .init(ProducerSettings.replay))
    var replay: [String] = []

    @Option(help: .init(ProducerSettings.speed))
    var speed: String?

    @Flag(help: .init(ProducerSettings.loop))
    var loop = false

    @Flag(help: .init(ProducerSettings.skipBad))
    var skipBad = false

    @Option(help: .init(ProducerSettings.timeFormat))
    var timeFormat: String?

    @Option(help: .init(ProducerSettings.timeZone))
    var timeZone: String?

    @Option(help: .init(ProducerSettings.timeUnit))
    var timeUnit: String?

    @Option(help: .init(ProducerSettings.columns))
    var columns: String?

    @Option(help: .init(ProducerSettings.symbol))
    var symbol: String?

    @Option(help: .init(ProducerSettings.maxSnapshotPoints))
    var maxSnapshotPoints: Int?

    @Option(help: .init(ProducerSettings.broker))
    var broker: [String] = []

    @Option(help: .init(ProducerSettings.name))
    var name: String?

    @Option(help: .init(ProducerSettings.advertiseControl))
    var advertiseControl: String?

    @OptionGroup var curve: CurveServerOptions

    @Option(help: .init(ProducerSettings.curveBrokerKey))
    var curveBrokerKey: String?

    func run() async throws {
        ProcessSignals.unblockAll()
        ProcessSignals.ignoreFileSizeLimitSignal()
        let settings = SettingResolver()
        let runDirectory = common.runDirectory(settings)
        let interval = try settings.resolve(interval, ProducerSettings.interval)
        let windowText = try settings.resolve(window, ProducerSettings.window)
        guard let window = DurationText.seconds(windowText) else {
            throw ValidationError("--window must be seconds or a number with a unit (s, m, h, d, w, y), such as 300, 15m or 10y, not '\(windowText)'")
        }
        let mockRate = try settings.resolve(mockRate, ProducerSettings.mockRate)
        let maxSymbols = try settings.resolve(maxSymbols, ProducerSettings.maxSymbols)
        let feedOn = try settings.resolve(mockFeed, ProducerSettings.mockFeed)
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
        let dataDirectory = settings.resolve(dataDir, ProducerSettings.dataDir)
        let replayConfiguration = try replaySettings(settings, persisting: dataDirectory != nil)
        let endpoints = (
            snapshot: settings.resolve(snapshotEndpoint, ProducerSettings.snapshotEndpoint) ?? runDirectory.snapshotEndpoint,
            control: settings.resolve(controlEndpoint, ProducerSettings.controlEndpoint) ?? runDirectory.controlEndpoint,
            ingest: settings.resolve(ingestEndpoint, ProducerSettings.ingestEndpoint) ?? runDirectory.ingestEndpoint
        )
        let curve = try curve.resolve(settings, admitted: "gateways and feed handlers", endpoints: [endpoints.snapshot, endpoints.control, endpoints.ingest])
        let logger = try common.logger(label: "rollcast.producer", settings)
        let configuration = ProducerConfiguration(
            runDirectory: runDirectory,
            snapshotEndpoint: endpoints.snapshot,
            controlEndpoint: endpoints.control,
            ingestEndpoint: endpoints.ingest,
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
            brokers: settings.resolve(broker, ProducerSettings.broker),
            brokerCurve: try brokerCurve(settings, own: curve),
            name: settings.resolve(name, ProducerSettings.name) ?? HostName.local,
            advertisedControl: try checkedAdvertisement(settings.resolve(advertiseControl, ProducerSettings.advertiseControl))
        )
        try await Producer(configuration: configuration, logger: logger).run()
    }
}

extension ProducerCommand {
    /// `--replay` and the flags that go with it; `nil` without `--replay`.
    func replaySettings(_ settings: SettingResolver, persisting: Bool) throws -> ProducerConfiguration.Replay? {
        let paths = settings.resolve(replay, ProducerSettings.replay)
        let pattern = settings.resolve(timeFormat, ProducerSettings.timeFormat)
        let chosenColumns = settings.resolve(columns, ProducerSettings.columns)
        let seriesName = settings.resolve(symbol, ProducerSettings.symbol)
        guard !paths.isEmpty else {
            if speed != nil || loop || skipBad || pattern != nil || timeZone != nil || timeUnit != nil || chosenColumns != nil || seriesName != nil {
                throw ValidationError("--speed, --loop, --skip-bad, --time-format, --time-zone, --time-unit, --columns and --symbol go with --replay FILE")
            }
            return nil
        }
        guard !persisting else { throw ValidationError("--replay and --data-dir cannot be used together: a replay is not kept") }
        let speedText = try settings.resolve(speed, ProducerSettings.speed)
        guard let speed = ReplaySpeed(speedText) else { throw ValidationError("--speed must be a number above 0 or max, not '\(speedText)'") }
        var options = ReplayOptions(skipBad: try settings.resolve(skipBad, ProducerSettings.skipBad))
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
        return .init(paths: paths, speed: speed, loop: try settings.resolve(loop, ProducerSettings.loop), options: options)
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
        guard let path = settings.resolve(curveBrokerKey, ProducerSettings.curveBrokerKey) else { return nil }
        guard let own else { throw ValidationError("--curve-broker-key goes with --curve-secret-key (this producer's own key)") }
        return CurveClientSettings(keyPair: own.keyPair, serverKey: try CurveKeyFile.readPeerKey(path: path, flag: "--curve-broker-key", whose: "the broker's"))
    }
}
