import ArgumentParser
import Foundation
import RollcastCore
import RollcastGateway
import RollcastOptions
import ZeroMQ

@main
struct GatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollcast-gateway",
        abstract: "Relays the producer's snapshots to every WebSocket client; serves the dashboard and the HTTP API.",
        discussion: "Every option can also be set by the environment variable named in its help; a flag wins over the environment.",
        subcommands: [TokenCommand.self]
    )

    @OptionGroup var common: CommonOptions

    @Option(help: .init(GatewaySettings.host))
    var host: String?

    @Option(help: .init(GatewaySettings.port))
    var port: Int?

    @Option(help: .init(GatewaySettings.snapshotEndpoints))
    var snapshotEndpoint: [String] = []

    @Option(help: .init(GatewaySettings.controlEndpoint))
    var controlEndpoint: String?

    @Option(help: .init(GatewaySettings.webRoot))
    var webRoot: String?

    @Option(help: .init(GatewaySettings.portFile))
    var portFile: String?

    @Option(help: .init(GatewaySettings.maxClients))
    var maxClients: Int?

    @Option(help: .init(GatewaySettings.maxSubscriptionSets))
    var maxSubscriptionSets: Int?

    @Option(help: .init(GatewaySettings.slowClientTimeout))
    var slowClientTimeout: Double?

    @Option(help: .init(GatewaySettings.pingInterval))
    var pingInterval: Double?

    @Option(help: .init(GatewaySettings.pongTimeout))
    var pongTimeout: Double?

    @Flag(inversion: .prefixedNo, help: .init(GatewaySettings.permessageDeflate))
    var permessageDeflate: Bool?

    @Option(help: .init(GatewaySettings.idleTimeout))
    var idleTimeout: Double?

    @Option(help: .init(GatewaySettings.maxHTTPConnections))
    var maxHTTPConnections: Int?

    @Flag(help: .init(GatewaySettings.enableTestAPI))
    var enableTestAPI = false

    @Option(help: .init(GatewaySettings.serverNames))
    var serverName: [String] = []

    @Option(help: .init(GatewaySettings.allowedOrigins))
    var allowedOrigin: [String] = []

    @Option(help: .init(GatewaySettings.jwtSecretFile))
    var jwtSecretFile: String?

    @Flag(help: .init(GatewaySettings.insecureNoAuth))
    var insecureNoAuth = false

    @Option(help: .init(GatewaySettings.curveSecretKey))
    var curveSecretKey: String?

    @Option(help: .init(GatewaySettings.curveServerKey))
    var curveServerKey: String?

    @Option(help: .init(GatewaySettings.curveBrokerKey))
    var curveBrokerKey: String?

    @Option(help: .init(GatewaySettings.forgetProducerAfter))
    var forgetProducerAfter: Double?

    func run() async throws {
        ProcessSignals.unblockAll()
        let settings = SettingResolver()
        let runDirectory = common.runDirectory(settings)
        let port = try settings.resolve(port, GatewaySettings.port)
        guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535") }
        let webRoot = try settings.resolve(webRoot, GatewaySettings.webRoot)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: webRoot, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ValidationError("--web-root: no folder at \(webRoot)")
        }
        let maxClients = try settings.resolve(maxClients, GatewaySettings.maxClients)
        guard maxClients >= 1 else { throw ValidationError("--max-clients must be at least 1") }
        let maxSubscriptionSets = try settings.resolve(maxSubscriptionSets, GatewaySettings.maxSubscriptionSets)
        guard (1...100_000).contains(maxSubscriptionSets) else { throw ValidationError("--max-subscription-sets must be between 1 and 100000") }
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
        let jwtKey = try settings.resolve(jwtSecretFile, GatewaySettings.jwtSecretFile).map { try JWTSecretFile.read(path: $0) }
        if jwtKey == nil, !ListenAddress.isLoopback(host), !(try settings.resolve(insecureNoAuth, GatewaySettings.insecureNoAuth)) {
            throw ValidationError(
                "--host \(host) can be reached from other machines: give --jwt-secret-file (see docs/security.md), or --insecure-no-auth to run open"
            )
        }
        let logger = try common.logger(label: "rollcast.gateway", settings)
        let configuration = GatewayConfiguration(
            host: host,
            port: port,
            snapshotEndpoints: snapshotEndpoints(settings, runDirectory: runDirectory),
            controlEndpoint: settings.resolve(controlEndpoint, GatewaySettings.controlEndpoint) ?? runDirectory.controlEndpoint,
            webRoot: webRoot,
            portFile: settings.resolve(portFile, GatewaySettings.portFile),
            maxClients: maxClients,
            maxSubscriptionSets: maxSubscriptionSets,
            slowClientLimit: .milliseconds(Int64(slowClientTimeout * 1000)),
            pingInterval: .milliseconds(Int64(pingInterval * 1000)),
            pongTimeout: .milliseconds(Int64(pongTimeout * 1000)),
            permessageDeflate: try settings.resolve(permessageDeflate, GatewaySettings.permessageDeflate),
            idleTimeout: .milliseconds(Int64(idleTimeout * 1000)),
            maxHTTPConnections: maxHTTPConnections,
            forgetProducerAfter: .milliseconds(Int64(forgetProducerAfter * 1000)),
            enableTestAPI: try settings.resolve(enableTestAPI, GatewaySettings.enableTestAPI),
            serverNames: settings.resolve(serverName, GatewaySettings.serverNames),
            allowedOrigins: try checkedOrigins(settings.resolve(allowedOrigin, GatewaySettings.allowedOrigins)),
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
        try settings.resolve(curveSecretKey, GatewaySettings.curveSecretKey).map {
            try CurveKeyFile.readSecret(path: $0, flag: "--curve-secret-key")
        }
    }

    /// CURVE for `--control-endpoint` (and the snapshot link without a broker key): the key pair
    /// and the producer's key, or `nil` without `--curve-server-key`.
    private func curveSettings(_ settings: SettingResolver) throws -> CurveClientSettings? {
        guard let server = settings.resolve(curveServerKey, GatewaySettings.curveServerKey) else { return nil }
        guard let keyPair = try curveKeyPair(settings) else {
            throw ValidationError("--curve-server-key goes with --curve-secret-key (this gateway's own key)")
        }
        return CurveClientSettings(keyPair: keyPair, serverKey: try CurveKeyFile.readPeerKey(path: server, flag: "--curve-server-key", whose: "the producer's"))
    }

    /// CURVE for the snapshot link when it goes to a broker with its own key.
    private func snapshotCurve(_ settings: SettingResolver) throws -> CurveClientSettings? {
        guard let path = settings.resolve(curveBrokerKey, GatewaySettings.curveBrokerKey) else { return try curveSettings(settings) }
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

extension GatewayCommand {
    /// `--snapshot-endpoint` (repeatable), else `ROLLCAST_SNAPSHOT_ENDPOINT` (comma-separated), else the run directory's.
    func snapshotEndpoints(_ settings: SettingResolver, runDirectory: RunDirectory) -> [String] {
        let listed = settings.resolve(snapshotEndpoint, GatewaySettings.snapshotEndpoints)
        return listed.isEmpty ? [runDirectory.snapshotEndpoint] : listed
    }
}
