import Foundation
import Testing

@Suite("HTTP error answers", .serialized, .timeLimit(.minutes(1)))
struct HTTPErrorTests {
    @Test("bad requests through real processes get their status and JSON reason; the data stays and the gateway keeps serving")
    func badRequests() async throws {
        try await RollcastStack.with { stack in
            try await stack.waitUntilReady()
            // Every error text is checked in process (GatewayRouteTests); here, one of each kind
            // through the real processes: refused by the gateway, and refused by what it relays.
            let cases: [(method: HTTPMethodName, path: String, body: String?, status: Int, reason: String)] = [
                (.POST, "/api/test/load_mock_data", #"{"symbols":["A"],"colour":"red"}"#, 400, "unknown field 'colour'; expected symbols, points, seed"),
                (.POST, "/api/realtime_window", "{}", 405, "POST is not allowed on /api/realtime_window; use GET, HEAD"),
                (.POST, "/api/ingest", #"{"ticks":[{"symbol":"A","t":1,"price":"x"}]}"#, 400, "'ticks[0].price' must be a number"),
            ]
            for item in cases {
                let answer = try await stack.request(item.method.nio, item.path, body: item.body)
                #expect(Int(answer.status.code) == item.status, "\(item.method) \(item.path): \(answer.body)")
                #expect(answer.errorReason == item.reason, "\(item.method) \(item.path)")
                #expect(answer.headers.first(name: "content-type")?.hasPrefix("application/json") == true)
            }
            let allow = try await stack.request(.GET, "/api/test/load_mock_data").headers.first(name: "allow")
            #expect(allow == "POST")
            // Nothing above lost the data already there or stopped the service.
            #expect(try await stack.request(.POST, "/api/test/load_mock_data", body: #"{"symbols":["OK"]}"#).status == .ok)
            #expect(try await stack.request(.GET, "/healthz").status == .ok)
        }
    }

    @Test("with no producer, load_mock_data answers 503 with a reason in under 2 s, and readyz is 503")
    func producerDown() async throws {
        try await RollcastStack.with(startProducer: false) { stack in
            #expect(try await stack.request(.GET, "/healthz").status == .ok)
            let started = ContinuousClock.now
            let answer = try await stack.request(.POST, "/api/test/load_mock_data", body: "{}")
            let elapsed = started.duration(to: .now)
            #expect(answer.status == .serviceUnavailable)
            #expect(answer.errorReason?.contains("producer") == true, "\(answer.body)")
            #expect(elapsed < .seconds(2), "answered after \(elapsed)")
            let ready = try await stack.request(.GET, "/readyz")
            #expect(ready.status == .serviceUnavailable)
            #expect(try await stack.request(.GET, "/api/realtime_window").status == .serviceUnavailable)
        }
    }

    @Test("the test API is off unless the gateway is started with --enable-test-api")
    func testAPIOffByDefault() async throws {
        try await RollcastStack.with(testAPI: false) { stack in
            try await stack.waitUntilReady()
            for method in [HTTPMethod.POST, .GET] {
                let answer = try await stack.request(method, "/api/test/load_mock_data", body: method == .POST ? "{}" : nil)
                #expect(answer.status == .notFound, "\(method): \(answer.body)")
                #expect(answer.errorReason == "no such route: /api/test/load_mock_data")
            }
            #expect(!(stack.gateway?.log.contains("test API on") ?? true))
        }
        try await RollcastStack.with { stack in
            try await stack.waitUntilReady()
            #expect(try await stack.request(.POST, "/api/test/load_mock_data", body: #"{"symbols":["ON"]}"#).status == .ok)
            #expect(stack.gateway?.log.contains("test API on") == true, "the gateway says so when it is on")
        }
    }
}

/// The HTTP methods used above, without importing NIO's type into the table's signature.
enum HTTPMethodName: String {
    case GET, POST
    var nio: NIOHTTP1.HTTPMethod { self == .GET ? .GET : .POST }
}

import NIOHTTP1
