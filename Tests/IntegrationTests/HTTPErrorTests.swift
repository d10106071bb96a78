import Foundation
import Testing

@Suite("HTTP error answers", .serialized, .timeLimit(.minutes(1)))
struct HTTPErrorTests {
    @Test("bad requests get the documented status and a JSON reason; the gateway keeps serving")
    func badRequests() async throws {
        try await RollcastStack.with { stack in
            try await stack.waitUntilReady()
            let cases: [(method: HTTPMethodName, path: String, body: String?, status: Int, reason: String)] = [
                (.POST, "/api/test/load_mock_data", "{nope", 400, "body is not valid JSON"),
                (.POST, "/api/test/load_mock_data", #"{"symbols":["A"],"colour":"red"}"#, 400, "unknown field 'colour'; expected symbols, points, seed"),
                (.POST, "/api/test/load_mock_data", #"{"symbols":[]}"#, 400, "symbols must not be empty"),
                (.POST, "/api/test/load_mock_data", #"{"points":1000000}"#, 400, "points must be between 0 and 100000"),
                (.POST, "/api/test/load_mock_data", #"{"symbols":"A"}"#, 400, "'symbols' must be a list"),
                (.POST, "/api/test/load_mock_data", String(repeating: " ", count: 70_000), 413, "request body is larger than 65536 bytes"),
                (.GET, "/api/test/load_mock_data", nil, 405, "GET is not allowed on /api/test/load_mock_data; use POST"),
                (.POST, "/api/realtime_window", "{}", 405, "POST is not allowed on /api/realtime_window; use GET, HEAD"),
                (.GET, "/api/nothing-here", nil, 404, "no such route: /api/nothing-here"),
                (.GET, "/ws/realtime_charts", nil, 426, "this endpoint speaks WebSocket only"),
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
