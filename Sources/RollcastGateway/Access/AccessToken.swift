import Foundation
import JWTKit

/// The claims of a Rollcast token: a role, an expiry, and optionally who it was issued to and
/// the symbols it is limited to.
struct AccessClaims: JWTPayload {
    /// `read` or `write`; kept as text so an unknown role is refused by name (403), not as a malformed token.
    var role: String
    var exp: ExpirationClaim
    var iat: IssuedAtClaim?
    var sub: SubjectClaim?
    /// Symbols and prefixes (`FX:*`), as `?symbols=` takes them: the holder sees, and writes, only
    /// these. Absent: every symbol.
    var symbols: [String]?

    func verify(using algorithm: some JWTAlgorithm) async throws {
        try exp.verifyNotExpired()
    }
}

/// Signs and checks HS256 tokens with the gateway's key.
public struct TokenAuthority: Sendable {
    private let keys: JWTKeyCollection

    /// Longer tokens are refused unread: no honest token comes near it, and the check's cost stays bounded.
    static let maximumTokenBytes = 4_096

    public init(key: [UInt8]) async {
        keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: key), digestAlgorithm: .sha256)
    }

    /// A token for `role` that expires `ttl` from now.
    /// - Parameter symbols: the symbols and prefixes the token is limited to (``SymbolSelection``); `nil` for every symbol.
    public func issue(role: AccessRole, ttl: Duration, subject: String? = nil, symbols: String? = nil, now: Date = Date()) async throws -> String {
        let seconds = Double(ttl.components.seconds) + Double(ttl.components.attoseconds) / 1e18
        let claims = AccessClaims(
            role: role.rawValue,
            exp: .init(value: now.addingTimeInterval(seconds)),
            iat: .init(value: now),
            sub: subject.map { SubjectClaim(value: $0) },
            symbols: try symbols.map { list in
                do {
                    return try SymbolSelection.parse(list).description.split(separator: ",").map(String.init)
                } catch {
                    throw TokenError(description: "--symbols: \(error)")
                }
            }
        )
        return try await keys.sign(claims)
    }

    /// When `token` expires, read without checking its signature: only for a token that
    /// ``refusal(of:needing:)`` admitted on the same request (a WebSocket handshake, whose
    /// connection is closed at that time).
    static func expiry(ofAdmitted token: String?) -> Date? {
        claims(ofAdmitted: token)?.exp.value
    }

    /// The claims of a token admitted on the same request, read without checking its signature again.
    static func claims(ofAdmitted token: String?) -> AccessClaims? {
        guard let token, token.utf8.count <= maximumTokenBytes else { return nil }
        return try? DefaultJWTParser().parse(Array(token.utf8), as: AccessClaims.self).payload
    }

    /// The symbols a token that ``refusal(of:needing:)`` admitted on the same request is limited
    /// to, read without checking its signature again; `nil` when it has no `symbols` claim.
    static func symbols(ofAdmitted token: String?) -> SymbolSelection? {
        guard let symbols = claims(ofAdmitted: token)?.symbols else { return nil }
        // Checked when admitted; a claim that fails here allows nothing.
        return (try? SymbolSelection.parse(symbols.joined(separator: ","))) ?? SymbolSelection(exact: [], prefixes: [])
    }

    /// A token that cannot be made as asked (its `symbols` cannot be read).
    public struct TokenError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Why `token` may not do what `needed` allows, or `nil` when it may.
    func refusal(of token: String?, needing needed: AccessRole) async -> AccessRefusal? {
        guard let token, !token.isEmpty else { return .missing }
        guard token.utf8.count <= Self.maximumTokenBytes else { return .invalid("the token is longer than \(Self.maximumTokenBytes) bytes") }
        let claims: AccessClaims
        do {
            claims = try await keys.verify(token, as: AccessClaims.self)
        } catch let error as JWTError where error.errorType == .claimVerificationFailure {
            return .expired
        } catch let error as JWTError where error.errorType == .signatureVerificationFailed {
            return .invalid("the token's signature does not match this gateway's key")
        } catch {
            return .invalid("the token is not a valid JWT with a role and an expiry")
        }
        guard let role = AccessRole(rawValue: claims.role) else {
            return .forbidden("the token's role '\(claims.role.prefix(20))' is neither read nor write")
        }
        guard role.grants(needed) else {
            return .forbidden("this needs a \(needed.rawValue) token; this one is \(role.rawValue)")
        }
        if let symbols = claims.symbols, symbols.isEmpty || symbols.contains(where: { $0.contains(",") }) || (try? SymbolSelection.parse(symbols.joined(separator: ","))) == nil {
            return .forbidden("the token's symbols claim is not a list of symbols and prefixes")
        }
        return nil
    }
}

/// Why a request is refused for its token: 401 (no token, a bad one, an expired one) or 403 (the wrong role).
enum AccessRefusal: Equatable, Sendable {
    case missing
    case expired
    case invalid(String)
    case forbidden(String)

    var status: Int {
        if case .forbidden = self { return 403 }
        return 401
    }

    var reason: String {
        switch self {
        case .missing: "this gateway needs a token: send Authorization: Bearer <token> (WebSocket: subprotocol bearer.<token> or ?access_token=)"
        case .expired: "the token has expired; ask for a new one"
        case .invalid(let why): why
        case .forbidden(let why): why
        }
    }

    /// `WWW-Authenticate` for a 401 (RFC 6750 §3).
    var challenge: String? {
        switch self {
        case .missing: #"Bearer realm="rollcast""#
        case .expired: #"Bearer realm="rollcast", error="invalid_token", error_description="expired""#
        case .invalid: #"Bearer realm="rollcast", error="invalid_token""#
        case .forbidden: nil
        }
    }
}
