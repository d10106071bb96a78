import Foundation
import Hummingbird

/// `GET /api/access`: what the request's token allows (its role, expiry and symbols). A page
/// whose WebSocket handshake failed asks it to tell a refused token (401/403 here too) from a
/// gateway that is away; a token limited to some symbols may read it, unlike `/api/status`.
struct AccessRoute: Sendable {
    /// Whether tokens are checked; without them everyone may do everything.
    let tokensOn: Bool

    struct Access: Encodable {
        let tokens: Bool
        let role: String
        let expiresAt: Int64?
        /// The symbols and prefixes the token is limited to; absent for every symbol.
        let symbols: [String]?

        enum CodingKeys: String, CodingKey {
            case tokens, role, symbols
            case expiresAt = "expires_at"
        }
    }

    func answer(_ request: Request) -> Response {
        guard tokensOn else { return JSONBody.response(Access(tokens: false, role: AccessRole.write.rawValue, expiresAt: nil, symbols: nil)) }
        // The token was admitted for this route before it got here.
        let token = BearerToken.fromAuthorization(request.headers[.authorization])
        let claims = TokenAuthority.claims(ofAdmitted: token)
        return JSONBody.response(
            Access(
                tokens: true, role: claims?.role ?? AccessRole.read.rawValue,
                expiresAt: claims.map { Int64($0.exp.value.timeIntervalSince1970) },
                symbols: TokenAuthority.symbols(ofAdmitted: token).map { $0.description.split(separator: ",").map(String.init) }
            )
        )
    }
}
