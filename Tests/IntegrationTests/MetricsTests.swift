import Foundation
import NIOHTTP1
import RollcastCore
import Testing

/// `GET /metrics` from real processes, checked by a real `promtool`.
@Suite("Prometheus metrics", .serialized, .timeLimit(.minutes(2)))
struct MetricsTests {
    @Test("GET /metrics: both processes' metrics, accepted by promtool, counting what happened, equal to /api/status")
    func exposition() async throws {
        try await RollcastStack.with(producerArguments: ["--mock-symbols", "MA,MB", "--interval", "0.2"]) { stack in
            try await stack.waitUntilReady()
            let port = stack.port
            // One client that got three snapshots and stays connected, one refused upgrade,
            // one unknown route, one malformed batch.
            let client = try await Task.detached {
                let socket = try RawWebSocket(port: port)
                for _ in 0..<3 { _ = try socket.firstDataFrame() }
                return dup(socket.fd)  // the socket object closes its own descriptor when it goes
            }.value
            defer { close(client) }
            let refused = try await Task.detached { try RawWebSocket(port: port, headers: ["Origin: https://evil.example"]).status }.value
            #expect(refused == 403)
            #expect(try await stack.request(.GET, "/api/nothing-here").status == .notFound)
            #expect(try await stack.request(.POST, "/api/ingest", body: #"{"ticks": ["#).status == .badRequest)

            let answer = try await stack.request(.GET, "/metrics")
            #expect(answer.status == .ok)
            #expect(answer.headers["content-type"] == ["text/plain; version=0.0.4; charset=utf-8"])
            let samples = Self.samples(of: answer.body)
            #expect(samples["rollcast_gateway_clients"] == 1)
            #expect(samples["rollcast_producer_up"] == 1)
            #expect(samples[#"rollcast_gateway_upgrades_refused_total{status="403"}"#] == 1)
            #expect(samples[#"rollcast_gateway_http_requests_total{route="other",status="404"}"#] == 1)
            #expect(samples[#"rollcast_gateway_http_requests_total{route="/readyz",status="200"}"#].map { $0 >= 1 } == true)
            #expect(samples[#"rollcast_producer_ingest_refused_total{source="http",reason="invalid"}"#] == 1)
            #expect(samples[#"rollcast_producer_control_requests_total{command="ingest",outcome="refused"}"#] == 1)
            #expect((samples["rollcast_gateway_relay_latency_seconds_count"] ?? 0) >= 2, "one observation per snapshot relayed")
            #expect((samples["rollcast_gateway_snapshots_relayed_total"] ?? 0) >= 3)
            #expect((samples["rollcast_gateway_sent_bytes_total"] ?? 0) > 0)
            #expect((samples["rollcast_producer_snapshots_published_total"] ?? 0) >= 3)
            #expect((samples["rollcast_producer_snapshot_encode_seconds_count"] ?? 0) >= 3)
            #expect(samples["rollcast_producer_symbols"] == 2)
            // Snapshots every 0.2 s: the latest is recent (5 s allows a loaded machine's scrape).
            #expect((samples["rollcast_gateway_snapshot_age_seconds"] ?? .infinity) < 5)
            #expect(samples[#"rollcast_gateway_feed{state="live"}"#] == 1)

            let check = try Promtool.checkMetrics(answer.body)
            #expect(check.status == 0, "promtool check metrics: \(check.output)")

            // /api/status reads the same counters.
            let status = try JSONSerialization.jsonObject(with: Data(try await stack.request(.GET, "/api/status").body.utf8)) as? [String: Any]
            #expect(status?["clients"] as? Int == 1)
            let producer = status?["producer"] as? [String: Any]
            let http = (producer?["ingest"] as? [String: Any])?["http"] as? [String: Any]
            #expect(http?["refused"] as? Int == 1)
        }
    }

    @Test("without a producer, /metrics still answers with the gateway's part and rollcast_producer_up 0")
    func withoutProducer() async throws {
        try await RollcastStack.with(startProducer: false) { stack in
            let answer = try await stack.request(.GET, "/metrics")
            #expect(answer.status == .ok)
            let samples = Self.samples(of: answer.body)
            #expect(samples["rollcast_producer_up"] == 0)
            #expect(samples["rollcast_gateway_snapshot_age_seconds"] == .infinity)
            let check = try Promtool.checkMetrics(answer.body)
            #expect(check.status == 0, "promtool check metrics: \(check.output)")
        }
    }

    @Test("the starter alert rules of docs/deploy are valid for promtool and fire when their unit tests say, on the metrics the gateway exports")
    func alertRules() async throws {
        let deploy = "\(TestEnvironment.repositoryRoot)/docs/deploy"
        let check = try Promtool.run(["check", "rules", "\(deploy)/rollcast-alerts.yml"])
        #expect(check.status == 0, "promtool check rules: \(check.output)")
        let unit = try Promtool.run(["test", "rules", "rollcast-alerts.test.yml"], in: deploy)
        #expect(unit.status == 0 && unit.output.contains("SUCCESS"), "promtool test rules: \(unit.output)")
        // Every metric the rules read is one the gateway exports.
        let rules = try String(contentsOfFile: "\(deploy)/rollcast-alerts.yml", encoding: .utf8)
        let used = Set(rules.matches(of: /rollcast_[a-z_]+/).map { String($0.output) })
        try await RollcastStack.with(startProducer: false) { stack in
            let exported = try await stack.request(.GET, "/metrics").body
            for name in used { #expect(exported.contains("\n\(name)"), "the rules read \(name), which /metrics does not export") }
        }
    }

    /// Sample lines by series (name and labels as written) to value.
    static func samples(of text: String) -> [String: Double] {
        var samples: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " ") else { continue }
            let value = line[line.index(after: space)...]
            samples[String(line[..<space])] = value == "+Inf" ? .infinity : Double(value)
        }
        return samples
    }
}

/// Prometheus's own checker: `ROLLCAST_PROMTOOL`, else the one set-up puts in `.build-tools/`, else `promtool` on the PATH.
enum Promtool {
    static var path: String? {
        let candidates = [
            ProcessInfo.processInfo.environment["ROLLCAST_PROMTOOL"], "\(TestEnvironment.repositoryRoot)/.build-tools/promtool", "/usr/bin/promtool",
        ]
        return candidates.compactMap { $0 }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    struct Missing: Error, CustomStringConvertible {
        var description: String { "promtool not found: run ./run.sh setup (it puts one in .build-tools/), or set ROLLCAST_PROMTOOL" }
    }

    /// Runs promtool with `arguments` in `directory`: its exit status and what it printed.
    static func run(_ arguments: [String], in directory: String? = nil) throws -> (status: Int32, output: String) {
        guard let path else { throw Missing() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let printed = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: printed, as: UTF8.self))
    }

    /// Runs `promtool check metrics` on `text`: its exit status and what it printed.
    static func checkMetrics(_ text: String) throws -> (status: Int32, output: String) {
        guard let path else { throw Missing() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = ["check", "metrics"]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        try process.run()
        input.fileHandleForWriting.write(Data(text.utf8))
        try input.fileHandleForWriting.close()
        let printed = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: printed, as: UTF8.self))
    }
}
