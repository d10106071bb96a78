import RollcastCore
import ZeroMQ

/// Everything the gateway needs to run, resolved from flags, environment and defaults.
public struct GatewayConfiguration: Sendable {
    public var host: String
    /// TCP port; 0 picks a free one (see ``portFile``).
    public var port: Int
    /// Where snapshots come from: the producer's snapshot endpoint, or the gateway side of one
    /// or more brokers (one SUB socket connects to each; duplicates are dropped).
    public var snapshotEndpoints: [String]
    /// The producer's control endpoint (the control client's DEALER socket connects here).
    public var controlEndpoint: String
    /// Folder served at `/` (the dashboard).
    public var webRoot: String
    /// If set, the bound port is written here once the server listens.
    public var portFile: String?
    /// Largest accepted HTTP request body, in bytes (not a setting).
    public var maxBodyBytes = 64 * 1024
    /// Largest accepted `POST /api/ingest` body, in bytes (not a setting: docs/ingest.md's limits).
    public var maxIngestBytes = 1 << 20
    /// How long an HTTP request waits for the producer before answering 503 (not a setting).
    public var controlTimeout: Duration = .seconds(2)
    /// Most WebSocket clients at once; upgrades past it get 503.
    public var maxClients: Int
    /// Most distinct symbol selections held at once (``SubscriptionSets``).
    public var maxSubscriptionSets: Int
    /// How long a client's socket may stay unwritable before the client is closed.
    public var slowClientLimit: Duration
    /// Time between pings to each client.
    public var pingInterval: Duration
    /// How long a client may take to answer a ping before it is closed.
    public var pongTimeout: Duration
    /// Offer `permessage-deflate`: each snapshot is compressed once and shared.
    public var permessageDeflate: Bool
    /// How long a connection may stay idle between requests, or take to send a request's head.
    public var idleTimeout: Duration
    /// Connections allowed besides `maxClients` WebSocket clients (plain HTTP, upgrades on their way).
    public var maxHTTPConnections: Int
    /// How long a silent producer's charts stay in the message (marked stale by their age).
    public var forgetProducerAfter: Duration

    /// Serve `/api/test/*` (mock data for tests and demos); 404 otherwise.
    public var enableTestAPI: Bool
    /// Host names the gateway answers for besides its listen address (and `localhost` on loopback).
    public var serverNames: [String]
    /// Origins besides the gateway's own whose pages may use it (`scheme://host[:port]`).
    public var allowedOrigins: [String]
    /// The HS256 key tokens are checked with (from `--jwt-secret-file`); `nil` runs without tokens.
    public var jwtKey: [UInt8]?
    /// CURVE for `tcp://` endpoints to the producer: this gateway's key pair and the producer's public key.
    public var curve: CurveClientSettings?
    /// CURVE for the snapshot link: ``curve``, or a broker's key when the snapshots come through one.
    public var snapshotCurve: CurveClientSettings?
    /// This gateway's own key pair, also for the `tcp://` control sockets producers announce.
    public var curveKeyPair: CurveKeyPair?

    /// The defaults are the settings' (``GatewaySettings``), declared there alone.
    public init(
        host: String = GatewaySettings.host.defaultValue,
        port: Int = GatewaySettings.port.defaultValue,
        snapshotEndpoints: [String],
        controlEndpoint: String,
        webRoot: String = GatewaySettings.webRoot.defaultValue,
        portFile: String? = nil,
        maxClients: Int = GatewaySettings.maxClients.defaultValue,
        maxSubscriptionSets: Int = GatewaySettings.maxSubscriptionSets.defaultValue,
        slowClientLimit: Duration = .seconds(GatewaySettings.slowClientTimeout.defaultValue),
        pingInterval: Duration = .seconds(GatewaySettings.pingInterval.defaultValue),
        pongTimeout: Duration = .seconds(GatewaySettings.pongTimeout.defaultValue),
        permessageDeflate: Bool = GatewaySettings.permessageDeflate.defaultValue,
        idleTimeout: Duration = .seconds(GatewaySettings.idleTimeout.defaultValue),
        maxHTTPConnections: Int = GatewaySettings.maxHTTPConnections.defaultValue,
        forgetProducerAfter: Duration = .seconds(GatewaySettings.forgetProducerAfter.defaultValue),
        enableTestAPI: Bool = GatewaySettings.enableTestAPI.defaultValue,
        serverNames: [String] = [],
        allowedOrigins: [String] = [],
        jwtKey: [UInt8]? = nil,
        curve: CurveClientSettings? = nil,
        snapshotCurve: CurveClientSettings? = nil,
        curveKeyPair: CurveKeyPair? = nil
    ) {
        self.curveKeyPair = curveKeyPair ?? curve?.keyPair ?? snapshotCurve?.keyPair
        self.host = host
        self.port = port
        self.snapshotEndpoints = snapshotEndpoints
        self.controlEndpoint = controlEndpoint
        self.webRoot = webRoot
        self.portFile = portFile
        self.maxClients = maxClients
        self.maxSubscriptionSets = maxSubscriptionSets
        self.slowClientLimit = slowClientLimit
        self.pingInterval = pingInterval
        self.pongTimeout = pongTimeout
        self.permessageDeflate = permessageDeflate
        self.idleTimeout = idleTimeout
        self.maxHTTPConnections = maxHTTPConnections
        self.forgetProducerAfter = forgetProducerAfter
        self.enableTestAPI = enableTestAPI
        self.serverNames = serverNames
        self.allowedOrigins = allowedOrigins
        self.jwtKey = jwtKey
        self.curve = curve
        self.snapshotCurve = snapshotCurve ?? curve
    }
}
