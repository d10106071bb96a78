import ArgumentParser
import Foundation
import Logging
import RollcastBroker
import RollcastCore
import ServiceLifecycle

@main
struct BrokerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollcast-broker",
        abstract: "Between producers and gateways: forwards every snapshot and hands each new gateway every producer's last one.",
        discussion: """
            Producers publish into it with --broker <producer endpoint>; gateways subscribe with \
            --snapshot-endpoint <gateway endpoint>. Every option can also be set by the environment \
            variable named in its help; a flag wins over the environment.
            """
    )

    @Option(help: "Folder for the Unix sockets, created private if missing. (ROLLCAST_RUN_DIR; default $XDG_RUNTIME_DIR/rollcast or /tmp/rollcast-<uid>)")
    var runDir: String?

    @Option(help: "Where producers publish into the broker (XSUB). (ROLLCAST_BROKER_PRODUCER_ENDPOINT; default ipc://<run dir>/broker-in.sock)")
    var producerEndpoint: String?

    @Option(help: "Where gateways subscribe (XPUB). (ROLLCAST_BROKER_GATEWAY_ENDPOINT; default ipc://<run dir>/broker-out.sock)")
    var gatewayEndpoint: String?

    @Option(help: ArgumentHelp(BrokerSettings.silenceTimeout.help("Seconds a producer may stay silent before its last snapshot is no longer handed out.")))
    var silenceTimeout: Double?

    @Option(help: "File holding the broker's CURVE secret key (rollcast-keygen), readable by its owner only: tcp:// sides then encrypt and admit only --curve-allow keys. (ROLLCAST_CURVE_SECRET_KEY)")
    var curveSecretKey: String?

    @Option(help: "File of public keys (one per line) of the producers and gateways admitted on tcp:// sides; repeatable. (ROLLCAST_CURVE_ALLOW, comma-separated)")
    var curveAllow: [String] = []

    @Flag(help: "Bind tcp:// sides other machines can reach without CURVE; refused otherwise. (ROLLCAST_INSECURE_PLAINTEXT=1; default off)")
    var insecurePlaintext = false

    @Option(help: ArgumentHelp(BrokerSettings.logLevel.help("Log level: trace, debug, info, notice, warning, error, critical.")))
    var logLevel: String?

    func run() async throws {
        ProcessSignals.unblockAll()
        let settings = SettingResolver()
        let runDirectory = RunDirectory(path: try settings.resolve(runDir, env: "ROLLCAST_RUN_DIR", default: RunDirectory.defaultPath()))
        let silence = try settings.resolve(silenceTimeout, BrokerSettings.silenceTimeout)
        guard silence >= 0.1, silence <= 86_400 else { throw ValidationError("--silence-timeout must be between 0.1 and 86400 seconds") }
        let producerSide = settings.resolve(producerEndpoint, env: "ROLLCAST_BROKER_PRODUCER_ENDPOINT", default: runDirectory.brokerProducerEndpoint)!
        let gatewaySide = settings.resolve(gatewayEndpoint, env: "ROLLCAST_BROKER_GATEWAY_ENDPOINT", default: runDirectory.brokerGatewayEndpoint)!
        let curve = try CurveServerSettings.resolve(
            secretKey: settings.resolve(curveSecretKey, env: "ROLLCAST_CURVE_SECRET_KEY", default: nil),
            allowFiles: curveAllow.isEmpty ? settings.list(env: "ROLLCAST_CURVE_ALLOW") : curveAllow,
            admitted: "producers and gateways"
        )
        let plaintextAllowed = try settings.resolve(insecurePlaintext ? true : nil, env: "ROLLCAST_INSECURE_PLAINTEXT", default: false)
        for endpoint in [producerSide, gatewaySide] {
            guard let host = ListenAddress.tcpHost(of: endpoint), !ListenAddress.isLoopback(host), curve == nil, !plaintextAllowed else { continue }
            throw ValidationError("\(endpoint) can be reached from other machines: give --curve-secret-key and --curve-allow (see docs/security.md), or --insecure-plaintext")
        }
        if ipcSocketPath(of: producerSide) != nil || ipcSocketPath(of: gatewaySide) != nil { try runDirectory.prepare() }
        let logger = try LoggerSetup.make(label: "rollcast.broker", level: settings.resolve(logLevel, BrokerSettings.logLevel))
        let broker = Broker(
            configuration: .init(
                producerEndpoint: producerSide, gatewayEndpoint: gatewaySide, silenceLimit: .milliseconds(Int64(silence * 1000)), curve: curve
            ),
            logger: logger
        )
        let group = ServiceGroup(services: [broker], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await group.run()
    }
}

/// The settings with a fixed default, each declared once: its help text and its value come from here.
enum BrokerSettings {
    static let silenceTimeout = Setting(env: "ROLLCAST_BROKER_SILENCE_TIMEOUT", default: 10.0)
    static let logLevel = Setting(env: "ROLLCAST_LOG_LEVEL", default: "info")
}
