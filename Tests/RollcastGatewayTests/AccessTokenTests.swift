import Foundation
import JWTKit
import NIOHTTP1
import RollcastCore
import Testing

@testable import RollcastGateway

@Suite("Tokens, roles and listen addresses")
struct AccessTokenTests {
    static let key = Array("0123456789abcdef0123456789abcdef0123".utf8)

    @Test("a token grants its role and what is below it, and nothing above")
    func roles() async throws {
        let authority = await TokenAuthority(key: Self.key)
        let read = try await authority.issue(role: .read, ttl: .seconds(60))
        let write = try await authority.issue(role: .write, ttl: .seconds(60))
        #expect(await authority.refusal(of: read, needing: .read) == nil)
        #expect(await authority.refusal(of: read, needing: .write) == .forbidden("this needs a write token; this one is read"))
        #expect(await authority.refusal(of: write, needing: .read) == nil)
        #expect(await authority.refusal(of: write, needing: .write) == nil)
        #expect(await authority.refusal(of: nil, needing: .read) == .missing)
        #expect(await authority.refusal(of: "", needing: .read) == .missing)
    }

    @Test("an expired token, an unknown role, another key's token, alg none and an oversized token are refused")
    func refusals() async throws {
        let authority = await TokenAuthority(key: Self.key)
        let expired = try await authority.issue(role: .write, ttl: .seconds(60), now: Date().addingTimeInterval(-61))
        #expect(await authority.refusal(of: expired, needing: .read) == .expired)

        let keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: Self.key), digestAlgorithm: .sha256)
        let admin = try await keys.sign(AccessClaims(role: "admin", exp: .init(value: Date().addingTimeInterval(60))))
        #expect(await authority.refusal(of: admin, needing: .read) == .forbidden("the token's role 'admin' is neither read nor write"))
        for symbols in [["A B"], [], ["A,B"]] {
            let odd = try await keys.sign(AccessClaims(role: "read", exp: .init(value: Date().addingTimeInterval(60)), symbols: symbols))
            #expect(await authority.refusal(of: odd, needing: .read) == .forbidden("the token's symbols claim is not a list of symbols and prefixes"), "\(symbols)")
        }

        let other = await TokenAuthority(key: Array("another key, just as long as the first one".utf8))
        let foreign = try await other.issue(role: .write, ttl: .seconds(60))
        #expect(await authority.refusal(of: foreign, needing: .read) == .invalid("the token's signature does not match this gateway's key"))

        // {"alg":"none"} with a write role and no signature.
        let header = Data(#"{"alg":"none","typ":"JWT"}"#.utf8).base64EncodedString().replacingOccurrences(of: "=", with: "")
        let claims = Data(#"{"role":"write","exp":4102444800}"#.utf8).base64EncodedString().replacingOccurrences(of: "=", with: "")
        #expect(await authority.refusal(of: "\(header).\(claims).", needing: .read) != nil)

        let huge = String(repeating: "a", count: TokenAuthority.maximumTokenBytes + 1)
        #expect(await authority.refusal(of: huge, needing: .read) == .invalid("the token is longer than 4096 bytes"))
    }

    @Test("an admitted token's expiry is read back to the second; nothing is read from what is not a token")
    func expiryOfAdmittedTokens() async throws {
        let authority = await TokenAuthority(key: Self.key)
        let now = Date()
        let token = try await authority.issue(role: .read, ttl: .seconds(90), now: now)
        let expiry = try #require(TokenAuthority.expiry(ofAdmitted: token))
        // JWT times are whole seconds.
        #expect(abs(expiry.timeIntervalSince(now.addingTimeInterval(90))) < 1)
        #expect(TokenAuthority.expiry(ofAdmitted: nil) == nil)
        #expect(TokenAuthority.expiry(ofAdmitted: "not.a.token") == nil)
        #expect(TokenAuthority.expiry(ofAdmitted: String(repeating: "a", count: TokenAuthority.maximumTokenBytes + 1)) == nil)
    }

    @Test("where a token is read from: Authorization, a bearer subprotocol, access_token")
    func tokenPlaces() {
        #expect(BearerToken.fromAuthorization("Bearer abc") == "abc")
        #expect(BearerToken.fromAuthorization("bearer   abc ") == "abc")
        #expect(BearerToken.fromAuthorization("Basic abc") == nil)
        var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/ws/realtime_charts?x=1&access_token=a%2Eb")
        #expect(BearerToken.fromHandshake(head) == "a.b")
        head.headers.add(name: "Sec-WebSocket-Protocol", value: "rollcast.v1, bearer.xyz")
        #expect(BearerToken.fromHandshake(head) == "xyz", "the subprotocol wins over the query")
    }

    @Test("loopback addresses, and what other machines may reach")
    func loopback() {
        for host in ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "LOCALHOST"] {
            #expect(ListenAddress.isLoopback(host), "\(host)")
        }
        for host in ["0.0.0.0", "::", "10.0.0.1", "192.168.1.2", "example.com", "::ffff:10.0.0.1", ""] {
            #expect(!ListenAddress.isLoopback(host), "\(host)")
        }
    }

    @Test("token lifetimes need a unit and stay under a year")
    func lifetimes() {
        #expect(TokenLifetime.parse("90s") == .seconds(90))
        #expect(TokenLifetime.parse("30m") == .seconds(1_800))
        #expect(TokenLifetime.parse("8h") == .seconds(28_800))
        #expect(TokenLifetime.parse("1.5h") == .seconds(5_400))
        #expect(TokenLifetime.parse("7d") == .seconds(604_800))
        for bad in ["8", "8x", "h", "-1h", "0s", "367d", "nanh", "infd"] {
            #expect(TokenLifetime.parse(bad) == nil, "\(bad)")
        }
    }
}
