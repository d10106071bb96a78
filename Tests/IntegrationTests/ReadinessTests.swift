import AsyncHTTPClient
import Foundation
import NIOHTTP1
import RollcastCore
import Testing

/// `/readyz` says whether the gateway can serve its clients, not whether its feed is live:
/// a producer or broker outage must not make a load balancer cut every browser.
@Suite("Readiness", .serialized, .timeLimit(.minutes(2)))
struct ReadinessTests {
    struct Readiness {
        let status: HTTPResponseStatus
        let feed: String?
        let reason: String?
        let runID: String?
        let seq: UInt64?
    }

    static func readiness(_ stack: RollcastStack) async throws -> Readiness {
        let answer = try await stack.request(.GET, "/readyz")
        let json = try JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any]
        return Readiness(
            status: answer.status, feed: json?["feed"] as? String, reason: json?["reason"] as? String, runID: json?["run_id"] as? String,
            seq: (json?["seq"] as? NSNumber)?.uint64Value
        )
    }

    @Test("503 before the first snapshot; 200 while live, and while stale with the last charts still served; live again when the producer returns")
    func feedStates() async throws {
        try await RollcastStack.with(producerArguments: ["--mock-symbols", "RZ", "--interval", "0.3"], startProducer: false) { stack in
            let starting = try await Self.readiness(stack)
            #expect(starting.status == .serviceUnavailable && starting.feed == "no producer" && starting.reason == "no snapshot received yet")
            try stack.startProducer()
            try await stack.waitUntilReady()
            let live = try await Self.readiness(stack)
            #expect(live.status == .ok && live.feed == "live" && live.reason == nil)

            await stack.producer?.stop(signal: SIGKILL)
            let stale = try await poll("the feed to turn stale", within: .seconds(15)) { () -> Readiness? in
                let state = try await Self.readiness(stack)
                return state.feed == "stale" ? state : nil
            }
            #expect(stale.status == .ok, "a gateway that holds a snapshot can serve: it stays in the balancer")
            // A browser that connects now gets the last charts at once.
            let message = try await WebSocketProbe.messages(1, from: stack.webSocketURL, within: .seconds(5))[0]
            #expect(try JSONDecoder().decode([ChartObject].self, from: Data(message.utf8)).map(\.symbol) == ["RZ"])
            let metrics = MetricsTests.samples(of: try await stack.request(.GET, "/metrics").body)
            #expect(metrics[#"rollcast_gateway_feed{state="stale"}"#] == 1 && metrics[#"rollcast_gateway_feed{state="live"}"#] == 0)
            let status = try JSONSerialization.jsonObject(with: Data(try await stack.request(.GET, "/api/status").body.utf8)) as? [String: Any]
            #expect(status?["feed"] as? String == "stale")

            try stack.startProducer()
            let back = try await poll("the new producer's snapshots", within: .seconds(10)) { () -> Readiness? in
                let state = try await Self.readiness(stack)
                return state.feed == "live" && state.runID != live.runID ? state : nil
            }
            #expect(back.status == .ok)
        }
    }

    @Test("503 while the gateway has --max-clients clients, and from the moment it begins to shut down")
    func fullAndShuttingDown() async throws {
        try await RollcastStack.with(producerArguments: ["--mock-symbols", "RF", "--interval", "0.3"], gatewayArguments: ["--max-clients", "1"]) { stack in
            try await stack.waitUntilReady()
            #expect(try await Self.readiness(stack).status == .ok)
            let port = stack.port
            // A client that reads its first snapshot and then never answers: it fills the gateway,
            // and at shutdown leaves the close handshake open, so the gateway drains for a while.
            let client = try await Task.detached {
                let socket = try RawWebSocket(port: port)
                _ = try socket.firstDataFrame()
                return dup(socket.fd)
            }.value
            defer { close(client) }
            let full = try await poll("readyz to say the gateway is full", within: .seconds(15)) { () -> Readiness? in
                let state = try await Self.readiness(stack)
                return state.status == .serviceUnavailable ? state : nil
            }
            #expect(full.reason == "the gateway has its maximum of 1 clients" && full.feed == "live")

            let gateway = try #require(stack.gateway)
            kill(gateway.pid, SIGTERM)
            let draining = try await poll("readyz while the gateway shuts down", within: .seconds(15)) { () -> Readiness? in
                guard let state = try? await Self.readiness(stack) else { return nil }
                return state.reason == "the gateway is shutting down" ? state : nil
            }
            #expect(draining.status == .serviceUnavailable)
        }
    }

    /// Waits until the gateway of `stack` has relayed `count` more snapshots: proof that snapshots
    /// flowed while something else was watched for not happening.
    static func waitForSnapshots(_ count: UInt64, through stack: RollcastStack, within limit: Duration = .seconds(10)) async throws {
        let start = try await readiness(stack).seq ?? 0
        _ = try await poll("\(count) more snapshots through the gateway", within: limit) {
            (try await readiness(stack).seq ?? 0) >= start + count ? true : nil
        }
    }
}
