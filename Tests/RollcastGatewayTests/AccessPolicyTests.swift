import Testing

@testable import RollcastGateway

/// The `Host` and `Origin` rules, without a request: what a rebinding page, another site, a
/// script and an allowed desk each get.
@Suite("Access policy")
struct AccessPolicyTests {
    let loopback = AccessPolicy(listenHost: "127.0.0.1", serverNames: [], allowedOrigins: [])

    @Test("a loopback gateway answers for its loopback names on any port, and refuses any other name with 421")
    func loopbackHosts() {
        for host in ["127.0.0.1:8000", "localhost", "LOCALHOST:1", "[::1]:8000", "::1"] {
            #expect(loopback.hostRefusal(host) == nil, "\(host)")
        }
        let rebound = loopback.hostRefusal("attacker.example:8000")
        #expect(rebound?.status == 421)
        #expect(rebound?.reason == "this gateway does not answer for host 'attacker.example'; start it with --server-name to add one")
        #expect(loopback.hostRefusal(nil)?.status == 400)
        #expect(loopback.hostRefusal("")?.reason == "an HTTP/1.1 request must name the gateway in Host")
        // A long name is cut in the reason: the answer stays small.
        #expect(loopback.hostRefusal(String(repeating: "a", count: 4_000))!.reason.count < 200)
    }

    @Test("a wildcard listen address answers for any name unless --server-name narrows it")
    func wildcardHosts() {
        #expect(AccessPolicy(listenHost: "0.0.0.0", serverNames: [], allowedOrigins: []).hostRefusal("anything.example") == nil)
        let named = AccessPolicy(listenHost: "::", serverNames: ["Desk.Example.com"], allowedOrigins: [])
        #expect(named.hostRefusal("desk.example.com:443") == nil)
        #expect(named.hostRefusal("other.example.com")?.status == 421)
    }

    @Test("origins: the gateway's own and allowed ones pass, another site's page gets 403, a non-browser origin passes")
    func origins() {
        let policy = AccessPolicy(listenHost: "127.0.0.1", serverNames: [], allowedOrigins: ["https://Desk.example.com/"])
        #expect(policy.originRefusal(nil, host: "127.0.0.1:8000") == nil)
        #expect(policy.originRefusal("http://127.0.0.1:8000", host: "127.0.0.1:8000") == nil)
        #expect(policy.originRefusal("https://desk.example.com", host: "127.0.0.1:8000") == nil)
        #expect(policy.isAllowedCrossOrigin("https://desk.example.com/"))
        #expect(!policy.isAllowedCrossOrigin("http://127.0.0.1:8000"))
        // Another port on the same host is another origin.
        #expect(policy.originRefusal("http://127.0.0.1:9999", host: "127.0.0.1:8000")?.status == 403)
        #expect(policy.originRefusal("null", host: "127.0.0.1:8000")?.status == 403)
        let refused = policy.originRefusal("https://evil.example", host: "127.0.0.1:8000")
        #expect(refused?.reason == "requests from origin 'https://evil.example' are not allowed; start the gateway with --allowed-origin to allow one")
        // A WebSocket library's origin is not a web page's: the same-origin rule is the browser's to keep.
        #expect(policy.originRefusal("ws://127.0.0.1:8000", host: "127.0.0.1:8000") == nil)
    }
}
