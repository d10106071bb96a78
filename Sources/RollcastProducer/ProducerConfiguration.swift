import Foundation
import RollcastCore

/// Everything the producer needs to run, resolved from flags, environment and defaults.
public struct ProducerConfiguration: Sendable {
    /// Folder for the Unix sockets; created private (0700) if missing.
    public var runDirectory: RunDirectory
    /// Where snapshots are published (PUB); `ipc://` or `tcp://`.
    public var snapshotEndpoint: String
    /// Where control commands are answered (ROUTER).
    public var controlEndpoint: String
    /// Where feed handlers push batches (PULL).
    public var ingestEndpoint: String
    /// Seconds between snapshots.
    public var interval: Double
    /// Length of every rolling window, in seconds.
    public var windowSeconds: Double
    /// Symbols the mock feed ticks from the start; empty turns the default feed off.
    public var mockSymbols: [String]
    /// Ticks per second for each mock symbol.
    public var mockRate: Double
    /// Seed of the default mock symbols' walks: the same walks on every start.
    public var mockSeed: UInt64 = 1
    /// Most symbols the producer keeps; loads past it are refused.
    public var maxSymbols: Int
    /// Most points per chart in a snapshot, reduced with min/max buckets; 0 sends every point.
    public var maxPoints: Int
    /// Most points in a whole snapshot; with many symbols each chart gets its share. 0 is no limit.
    public var maxSnapshotPoints: Int
    /// Seconds a tick may lie ahead of the producer's clock; later ones are refused.
    public var maxFutureSkew: Double
    /// Most ticks a window holds; past it the oldest go first.
    public var maxTicksPerWindow: Int
    /// Seconds a window may stay empty before its symbol is forgotten (mock symbols never are).
    public var forgetEmptyAfter: Double
    /// Where the journal of acknowledged ticks lives; `nil` keeps everything in memory.
    public var dataDirectory: String?
    /// CSV files of ticks to replay instead of the mock feed, on a replay clock.
    public var replay: Replay?
    /// CURVE for the `tcp://` endpoints: the producer's key pair and the peers it admits.
    public var curve: CurveServerSettings?
    /// Brokers' producer endpoints to publish into (connecting to each), instead of binding ``snapshotEndpoint``.
    public var brokers: [String]
    /// CURVE for a `tcp://` broker: this producer's key pair and the broker's public key.
    public var brokerCurve: CurveClientSettings?
    /// The producer's name in every snapshot header: a broker keeps one last snapshot per name.
    public var name: String
    /// The control endpoint announced in snapshot headers (`--advertise-control`); by default
    /// the control endpoint itself, with a wildcard host replaced by this host's name.
    public var advertisedControl: String?

    public struct Replay: Sendable {
        /// Files and folders (standing for their `.csv` and `.gz` files).
        public var paths: [String]
        public var speed: ReplaySpeed
        public var loop: Bool
        public var options: ReplayOptions

        public init(paths: [String], speed: ReplaySpeed, loop: Bool, options: ReplayOptions) {
            self.paths = paths
            self.speed = speed
            self.loop = loop
            self.options = options
        }
    }

    /// Every value from its setting (``ProducerSettings``); the defaults live there alone.
    public init(
        runDirectory: RunDirectory,
        snapshotEndpoint: String,
        controlEndpoint: String,
        ingestEndpoint: String,
        interval: Double,
        windowSeconds: Double,
        mockSymbols: [String],
        mockRate: Double,
        maxSymbols: Int,
        maxPoints: Int,
        maxSnapshotPoints: Int,
        maxFutureSkew: Double,
        maxTicksPerWindow: Int,
        forgetEmptyAfter: Double,
        dataDirectory: String?,
        replay: Replay?,
        curve: CurveServerSettings?,
        brokers: [String],
        brokerCurve: CurveClientSettings?,
        name: String,
        advertisedControl: String?
    ) {
        self.advertisedControl = advertisedControl
        self.runDirectory = runDirectory
        self.snapshotEndpoint = snapshotEndpoint
        self.controlEndpoint = controlEndpoint
        self.ingestEndpoint = ingestEndpoint
        self.interval = interval
        self.windowSeconds = windowSeconds
        self.mockSymbols = mockSymbols
        self.mockRate = mockRate
        self.maxSymbols = maxSymbols
        self.maxPoints = maxPoints
        self.maxSnapshotPoints = maxSnapshotPoints
        self.maxFutureSkew = maxFutureSkew
        self.maxTicksPerWindow = maxTicksPerWindow
        self.forgetEmptyAfter = forgetEmptyAfter
        self.dataDirectory = dataDirectory
        self.replay = replay
        self.curve = curve
        self.brokers = brokers
        self.brokerCurve = brokerCurve
        self.name = name
    }

    var windowLimits: WindowStore.Limits {
        WindowStore.Limits(
            windowSeconds: windowSeconds, maxSymbols: maxSymbols, maxPoints: maxPoints, maxSnapshotPoints: maxSnapshotPoints,
            maxTicksPerWindow: maxTicksPerWindow,
            forgetEmptyAfter: forgetEmptyAfter
        )
    }

    var intervalMilliseconds: Int64 { Int64((interval * 1000).rounded()) }

    /// What snapshot headers announce of the control socket: where a gateway reaches it, and
    /// its CURVE key when it is a `tcp://` CURVE server.
    public var controlAddress: ControlAddress {
        var endpoint = advertisedControl ?? controlEndpoint
        if advertisedControl == nil, let host = ListenAddress.tcpHost(of: endpoint), ["*", "0.0.0.0", "::"].contains(host) {
            let port = endpoint.split(separator: ":").last.map(String.init) ?? ""
            endpoint = "tcp://\(HostName.local):\(port)"
        }
        return ControlAddress(endpoint: endpoint, curveKey: controlEndpoint.hasPrefix("tcp://") ? curve?.keyPair.publicKey : nil)
    }
}
