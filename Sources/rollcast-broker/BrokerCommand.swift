import ArgumentParser
import Foundation
import Logging
import RollcastBroker
import RollcastCore
import RollcastOptions
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

    @OptionGroup var common: CommonOptions

    @Option(help: .init(BrokerSettings.producerEndpoint))
    var producerEndpoint: String?

    @Option(help: .init(BrokerSettings.gatewayEndpoint))
    var gatewayEndpoint: String?

    @Option(help: .init(BrokerSettings.silenceTimeout))
    var silenceTimeout: Double?

    @OptionGroup var curve: CurveServerOptions

    func run() async throws {
        ProcessSignals.unblockAll()
        let settings = SettingResolver()
        let runDirectory = common.runDirectory(settings)
        let silence = try settings.resolve(silenceTimeout, BrokerSettings.silenceTimeout)
        guard silence >= 0.1, silence <= 86_400 else { throw ValidationError("--silence-timeout must be between 0.1 and 86400 seconds") }
        let producerSide = settings.resolve(producerEndpoint, BrokerSettings.producerEndpoint) ?? runDirectory.brokerProducerEndpoint
        let gatewaySide = settings.resolve(gatewayEndpoint, BrokerSettings.gatewayEndpoint) ?? runDirectory.brokerGatewayEndpoint
        let curve = try curve.resolve(settings, admitted: "producers and gateways", endpoints: [producerSide, gatewaySide])
        if ipcSocketPath(of: producerSide) != nil || ipcSocketPath(of: gatewaySide) != nil { try runDirectory.prepare() }
        let logger = try common.logger(label: "rollcast.broker", settings)
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
