import ArgumentParser
import Foundation
import RollcastCore
import RollcastGateway

/// `rollcast-gateway token`: prints a token signed with the gateway's key.
struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Prints a token for the gateway's key (--jwt-secret-file): give it to a dashboard as #token=… or to a feed as Authorization: Bearer.",
        discussion: "The key file is the gateway's --jwt-secret-file (or \(GatewaySettings.jwtSecretFile.env)). Example: rollcast-gateway --jwt-secret-file /etc/rollcast/jwt.key token --role read --ttl 8h"
    )

    @Option(help: "read (the WebSocket, GET routes, /metrics) or write (also POST /api/ingest and the test API).")
    var role: String = "read"

    @Option(help: "How long the token is good for, with a unit: 90s, 30m, 8h, 7d. At most 366d.")
    var ttl: String = "8h"

    @Option(help: "Who the token is for (its sub claim), shown in nothing but the token itself.")
    var subject: String?

    @Option(help: "Limit the token to these symbols and prefixes, comma-separated, as ?symbols= takes them (FX:*,AAPL): its holder sees only their charts on every stream and route, and a write token may ingest only their ticks. Without it: every symbol.")
    var symbols: String?

    /// Where `--jwt-secret-file` is parsed, for the gateway and this command alike.
    @ParentCommand var gateway: GatewayCommand

    func run() async throws {
        guard let role = AccessRole(rawValue: role) else { throw ValidationError("--role must be read or write, not '\(role)'") }
        guard let ttl = TokenLifetime.parse(ttl) else {
            throw ValidationError("--ttl must be a number with a unit (s, m, h or d), such as 8h, and at most 366d; not '\(ttl)'")
        }
        guard let path = SettingResolver().resolve(gateway.jwtSecretFile, GatewaySettings.jwtSecretFile) else {
            throw ValidationError("give --jwt-secret-file (the gateway's key file) or set \(GatewaySettings.jwtSecretFile.env)")
        }
        let authority = await TokenAuthority(key: try JWTSecretFile.read(path: path))
        do {
            print(try await authority.issue(role: role, ttl: ttl, subject: subject, symbols: symbols))
        } catch let error as TokenAuthority.TokenError {
            throw ValidationError(error.description)
        }
    }
}
