import ArgumentParser
import Foundation
import RollcastCore
import RollcastGateway
import ZeroMQ

@main
struct GatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollcast-gateway",
        abstract: "Relays the producer's snapshots to every WebSocket client; serves the dashboard and the HTTP API.",
        discussion: "Every option can also be set by the environment variable named in its help; a flag wins over the environment.",
        subcommands: [TokenCommand.self]
    )

    @Option(help: ArgumentHelp(GatewaySettings.host.help("Address to listen on.")))
    var host: String?

    @Option(help: ArgumentHelp(GatewaySettings.port.help("Port to listen on; 0 picks a free one.")))
    var port: Int?

    @Option(help: "Folder holding the producer's Unix sockets. (ROLLCAST_RUN_DIR; default $XDG_RUNTIME_DIR/rollcast or /tmp/rollcast-<uid>)")
    var runDir: String?

    @Option(help: "The producer's snapshot endpoint, or a broker's gateway side; repeatable: with two brokers, give both, and each snapshot is relayed once, from whichever copy comes first. (ROLLCAST_SNAPSHOT_ENDPOINT, comma-separated; default ipc://<run dir>/snapshots.sock)")
    var snapshotEndpoint: [String] = []

    @Option(help: "The producer's control endpoint. (ROLLCAST_CONTROL_ENDPOINT; default ipc://<run dir>/control.sock)")
    var controlEndpoint: String?

    @Option(help: ArgumentHelp(GatewaySettings.webRoot.help("Folder of the dashboard served at /.")))
    var webRoot: String?

    @Option(help: "Write the port actually bound to this file once listening. (ROLLCAST_PORT_FILE)")
    var portFile: String?

    @Option(help: ArgumentHelp(GatewaySettings.maxClients.help("Most WebSocket clients at once; upgrades past it get HTTP 503 with a reason.")))
    var maxClients: Int?

    @Option(help: ArgumentHelp(GatewaySettings.slowClientTimeout.help("Seconds a client's socket may stay unwritable before the client is closed.")))
    var slowClientTimeout: Double?

    @Option(help: ArgumentHelp(GatewaySettings.pingInterval.help("Seconds between pings to each client.")))
    var pingInterval: Double?

    @Option(help: ArgumentHelp(GatewaySettings.pongTimeout.help("Seconds a client may take to answer a ping before it is closed.")))
    var pongTimeout: Double?

    @Flag(inversion: .prefixedNo, help: "Offer permessage-deflate to clients; each snapshot is compressed once and shared. (ROLLCAST_PERMESSAGE_DEFLATE=1; default off)")
    var permessageDeflate: Bool?

    @Option(help: ArgumentHelp(GatewaySettings.idleTimeout.help("Seconds a connection may stay idle between requests, or take to send a request's head, before it is closed.")))
    var idleTimeout: Double?

    @Option(help: ArgumentHelp(GatewaySettings.maxHTTPConnections.help("Most connections besides the WebSocket clients (plain HTTP, upgrades under way); past it, and past --max-clients, new connections are closed at once. Both together stay under the open-file limit less 256.")))
    var maxHTTPConnections: Int?

    @Flag(help: "Serve the test API (POST /api/test/load_mock_data), for tests and demos; 404 otherwise. (ROLLCAST_ENABLE_TEST_API=1; default off)")
    var enableTestAPI = false

    @Option(help: "A host name the gateway answers for besides its listen address (requests naming another Host get 421); repeatable. (ROLLCAST_SERVER_NAMES, comma-separated)")
    var serverName: [String] = []

    @Option(help: "An origin (scheme://host[:port]) whose pages may open the WebSocket and post, besides the gateway's own; repeatable. (ROLLCAST_ALLOWED_ORIGINS, comma-separated)")
    var allowedOrigin: [String] = []

    @Option(help: "File holding the HS256 key tokens are checked with, readable by its owner only; without it no route asks for a token. (ROLLCAST_JWT_SECRET_FILE)")
    var jwtSecretFile: String?

    @Flag(help: "Run without tokens on an address other machines can reach; refused otherwise. (ROLLCAST_INSECURE_NO_AUTH=1; default off)")
    var insecureNoAuth = false

    @Option(help: "File holding this gateway's CURVE secret key (rollcast-keygen), readable by its owner only, for tcp:// links to a producer or a broker, and to the control sockets producers announce. (ROLLCAST_CURVE_SECRET_KEY)")
    var curveSecretKey: String?

    @Option(help: "File holding the producer's CURVE public key; the gateway talks to no other. (ROLLCAST_CURVE_SERVER_KEY)")
    var curveServerKey: String?

    @Option(help: "File holding a broker's CURVE public key, when --snapshot-endpoint is a tcp:// broker; control still uses --curve-server-key. (ROLLCAST_CURVE_BROKER_KEY)")
    var curveBrokerKey: String?

    @Option(help: ArgumentHelp(GatewaySettings.forgetProducerAfter.help("Seconds after which a silent producer's charts leave the message; until then they stay, marked stale by their age.")))
    var forgetProducerAfter: Double?

    @Option(help: ArgumentHelp(GatewaySettings.logLevel.help("Log level: trace, debug, info, notice, warning, error, critical.")))
    var logLevel: String?

    func run() async throws {
        ProcessSignals.unblockAll()
        let settings = SettingResolver()
        let runDirectory = RunDirectory(path: try settings.resolve(runDir, env: "ROLLCAST_RUN_DIR", default: RunDirectory.defaultPath()))
        let port = try settings.resolve(port, GatewaySettings.port)
        guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535") }
        let webRoot = try settings.resolve(webRoot, GatewaySettings.webRoot)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: webRoot, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ValidationError("--web-root: no folder at \(webRoot)")
        }
        let maxClients = try settings.resolve(maxClients, GatewaySettings.maxClients)
        guard maxClients >= 1 else { throw ValidationError("--max-clients must be at least 1") }
        let slowClientTimeout = try settings.resolve(slowClientTimeout, GatewaySettings.slowClientTimeout)
        guard slowClientTimeout >= 0.1 else { throw ValidationError("--slow-client-timeout must be at least 0.1 seconds") }
        let pingInterval = try settings.resolve(pingInterval, GatewaySettings.pingInterval)
        guard pingInterval >= 0.1 else { throw ValidationError("--ping-interval must be at least 0.1 seconds") }
        let pongTimeout = try settings.resolve(pongTimeout, GatewaySettings.pongTimeout)
        guard pongTimeout >= 0.1 else { throw ValidationError("--pong-timeout must be at least 0.1 seconds") }
        let idleTimeout = try settings.resolve(idleTimeout, GatewaySettings.idleTimeout)
        guard idleTimeout >= 0.1, idleTimeout <= 3_600 else { throw ValidationError("--idle-timeout must be between 0.1 and 3600 seconds") }
        let maxHTTPConnections = try settings.resolve(maxHTTPConnections, GatewaySettings.maxHTTPConnections)
        guard maxHTTPConnections >= 1 else { throw ValidationError("--max-http-connections must be at least 1") }
        let forgetProducerAfter = try settings.resolve(forgetProducerAfter, GatewaySettings.forgetProducerAfter)
        guard forgetProducerAfter >= 1, forgetProducerAfter <= 31_536_000 else {
            throw ValidationError("--forget-producer-after must be between 1 second and 1 year (31536000 s)")
        }
        let host = try settings.resolve(host, GatewaySettings.host)
        let jwtKey = try settings.resolve(jwtSecretFile, env: "ROLLCAST_JWT_SECRET_FILE", default: nil).map { try JWTSecretFile.read(path: $0) }
        if jwtKey == nil, !ListenAddress.isLoopback(host), !(try settings.resolve(insecureNoAuth ? true : nil, env: "ROLLCAST_INSECURE_NO_AUTH", default: false)) {
            throw ValidationError(
                "--host \(host) can be reached from other machines: give --jwt-secret-file (see docs/security.md), or --insecure-no-auth to run open"
            )
        }
        let logger = try LoggerSetup.make(label: "rollcast.gateway", level: settings.resolve(logLevel, GatewaySettings.logLevel))
        let configuration = GatewayConfiguration(
            host: host,
            port: port,
            snapshotEndpoints: snapshotEndpoints(settings, runDirectory: runDirectory),
            controlEndpoint: try settings.resolve(controlEndpoint, env: "ROLLCAST_CONTROL_ENDPOINT", default: runDirectory.controlEndpoint),
            webRoot: webRoot,
            portFile: settings.resolve(portFile, env: "ROLLCAST_PORT_FILE", default: nil),
            maxClients: maxClients,
            slowClientLimit: .milliseconds(Int64(slowClientTimeout * 1000)),
            pingInterval: .milliseconds(Int64(pingInterval * 1000)),
            pongTimeout: .milliseconds(Int64(pongTimeout * 1000)),
            permessageDeflate: try settings.resolve(permessageDeflate, env: "ROLLCAST_PERMESSAGE_DEFLATE", default: false),
            idleTimeout: .milliseconds(Int64(idleTimeout * 1000)),
            maxHTTPConnections: maxHTTPConnections,
            forgetProducerAfter: .milliseconds(Int64(forgetProducerAfter * 1000)),
            enableTestAPI: try settings.resolve(enableTestAPI ? true : nil, env: "ROLLCAST_ENABLE_TEST_API", default: false),
            serverNames: serverName.isEmpty ? settings.list(env: "ROLLCAST_SERVER_NAMES") : serverName,
            allowedOrigins: try checkedOrigins(allowedOrigin.isEmpty ? settings.list(env: "ROLLCAST_ALLOWED_ORIGINS") : allowedOrigin),
            jwtKey: jwtKey,
            curve: try curveSettings(settings),
            snapshotCurve: try snapshotCurve(settings),
            curveKeyPair: try curveKeyPair(settings)
        )
        try await Gateway(configuration: configuration, logger: logger).run()
    }

    /// This gateway's CURVE key pair (`--curve-secret-key`): for `tcp://` links to the producer,
    /// to a broker, and to the control sockets producers announce.
    private func curveKeyPair(_ settings: SettingResolver) throws -> CurveKeyPair? {
        try settings.resolve(curveSecretKey, env: "ROLLCAST_CURVE_SECRET_KEY", default: nil).map {
            try CurveKeyFile.readSecret(path: $0, flag: "--curve-secret-key")
        }
    }

    /// CURVE for `--control-endpoint` (and the snapshot link without a broker key): the key pair
    /// and the producer's key, or `nil` without `--curve-server-key`.
    private func curveSettings(_ settings: SettingResolver) throws -> CurveClientSettings? {
        guard let server = settings.resolve(curveServerKey, env: "ROLLCAST_CURVE_SERVER_KEY", default: nil) else { return nil }
        guard let keyPair = try curveKeyPair(settings) else {
            throw ValidationError("--curve-server-key goes with --curve-secret-key (this gateway's own key)")
        }
        return CurveClientSettings(keyPair: keyPair, serverKey: try CurveKeyFile.readPeerKey(path: server, flag: "--curve-server-key", whose: "the producer's"))
    }

    /// CURVE for the snapshot link when it goes to a broker with its own key.
    private func snapshotCurve(_ settings: SettingResolver) throws -> CurveClientSettings? {
        guard let path = settings.resolve(curveBrokerKey, env: "ROLLCAST_CURVE_BROKER_KEY", default: nil) else { return try curveSettings(settings) }
        guard let keyPair = try curveKeyPair(settings) else {
            throw ValidationError("--curve-broker-key goes with --curve-secret-key (this gateway's own key)")
        }
        return CurveClientSettings(keyPair: keyPair, serverKey: try CurveKeyFile.readPeerKey(path: path, flag: "--curve-broker-key", whose: "the broker's"))
    }

    /// Origins as `scheme://host[:port]`; anything else is a typo worth a clear error.
    private func checkedOrigins(_ origins: [String]) throws -> [String] {
        for origin in origins {
            guard let url = URL(string: origin), let scheme = url.scheme, ["http", "https"].contains(scheme.lowercased()), url.host != nil,
                url.path.isEmpty || url.path == "/"
            else { throw ValidationError("--allowed-origin must be scheme://host[:port], such as https://desk.example.com, not '\(origin)'") }
        }
        return origins
    }
}

/// The settings with a fixed default, each declared once: its help text and its value come from here.
enum GatewaySettings {
    static let host = Setting(env: "ROLLCAST_HOST", default: "127.0.0.1")
    static let port = Setting(env: "ROLLCAST_PORT", default: 8000)
    static let webRoot = Setting(env: "ROLLCAST_WEB_ROOT", default: "web")
    static let maxClients = Setting(env: "ROLLCAST_MAX_CLIENTS", default: 10_000)
    static let slowClientTimeout = Setting(env: "ROLLCAST_SLOW_CLIENT_TIMEOUT", default: 30.0)
    static let pingInterval = Setting(env: "ROLLCAST_PING_INTERVAL", default: 25.0)
    static let pongTimeout = Setting(env: "ROLLCAST_PONG_TIMEOUT", default: 10.0)
    static let idleTimeout = Setting(env: "ROLLCAST_IDLE_TIMEOUT", default: 15.0)
    static let maxHTTPConnections = Setting(env: "ROLLCAST_MAX_HTTP_CONNECTIONS", default: 1_000)
    static let forgetProducerAfter = Setting(env: "ROLLCAST_FORGET_PRODUCER_AFTER", default: 300.0)
    static let logLevel = Setting(env: "ROLLCAST_LOG_LEVEL", default: "info")
}

extension GatewayCommand {
    /// `--snapshot-endpoint` (repeatable), else `ROLLCAST_SNAPSHOT_ENDPOINT` (comma-separated), else the run directory's.
    func snapshotEndpoints(_ settings: SettingResolver, runDirectory: RunDirectory) -> [String] {
        if !snapshotEndpoint.isEmpty { return snapshotEndpoint }
        let listed = settings.list(env: "ROLLCAST_SNAPSHOT_ENDPOINT")
        return listed.isEmpty ? [runDirectory.snapshotEndpoint] : listed
    }
}
