import ArgumentParser
import RollcastCore

/// CURVE for a process that binds `tcp://` endpoints (the producer, the broker): its key, the
/// peers it admits, and the refusal to listen in plaintext where other machines can reach it.
public struct CurveServerOptions: ParsableArguments {
    @Option(help: .init(SharedSettings.curveSecretKey))
    var curveSecretKey: String?

    @Option(help: .init(SharedSettings.curveAllow))
    var curveAllow: [String] = []

    @Flag(help: .init(SharedSettings.insecurePlaintext))
    var insecurePlaintext = false

    public init() {}

    /// The CURVE settings, or `nil` without `--curve-secret-key`.
    /// - Parameters:
    ///   - admitted: who the admitted keys belong to, for the error that asks for them.
    ///   - endpoints: every endpoint the process binds: one on an address other machines can
    ///     reach is refused without CURVE, unless `--insecure-plaintext`.
    public func resolve(_ settings: SettingResolver, admitted: String, endpoints: [String]) throws -> CurveServerSettings? {
        let curve = try CurveServerSettings.resolve(
            secretKey: settings.resolve(curveSecretKey, SharedSettings.curveSecretKey),
            allowFiles: settings.resolve(curveAllow, SharedSettings.curveAllow),
            admitted: admitted
        )
        guard curve == nil, !(try settings.resolve(insecurePlaintext, SharedSettings.insecurePlaintext)) else { return curve }
        for endpoint in endpoints {
            guard let host = ListenAddress.tcpHost(of: endpoint), !ListenAddress.isLoopback(host) else { continue }
            throw ValidationError("\(endpoint) can be reached from other machines: give --curve-secret-key and --curve-allow (see docs/security.md), or --insecure-plaintext")
        }
        return nil
    }
}
