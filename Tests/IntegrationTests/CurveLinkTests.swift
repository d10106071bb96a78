import AsyncHTTPClient
import Foundation
import NIOHTTP1
import RollcastCore
import Testing

/// Producer and gateways over `tcp://127.0.0.1` with CURVE, keys made by the real `rollcast-keygen`.
@Suite("CURVE links", .serialized, .timeLimit(.minutes(2)))
struct CurveLinkTests {
    /// Runs `executable` with `arguments` to its end: exit status and output.
    static func run(_ executable: String, _ arguments: [String], in directory: String) async throws -> (status: Int32, text: String) {
        let process = try RollcastProcess(executable: executable, arguments: arguments, logPath: "\(directory)/\(executable)-\(UUID().uuidString.prefix(6)).log")
        #expect(await process.waitForExit(within: .seconds(15)))
        return (process.process.terminationStatus, process.log)
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    @Test("a gateway with an admitted key relays over tcp:// with CURVE; one with another key gets nothing and the producer logs the refusal")
    func admittedAndRefused() async throws {
        let keys = "/tmp/rck-\(UUID().uuidString.prefix(8).lowercased())"
        try FileManager.default.createDirectory(atPath: keys, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: keys) }
        for name in ["producer", "gateway", "stranger"] {
            let made = try await Self.run("rollcast-keygen", ["\(keys)/\(name)"], in: keys)
            #expect(made.status == 0, "\(made.text)")
        }
        let secretMode = try FileManager.default.attributesOfItem(atPath: "\(keys)/producer.key")[.posixPermissions] as? Int
        #expect(secretMode == 0o600)
        let again = try await Self.run("rollcast-keygen", ["\(keys)/producer"], in: keys)
        #expect(again.status != 0 && again.text.contains("exists; a key is not overwritten"), "\(again.text)")

        let snapshots = "tcp://127.0.0.1:\(try Self.freePort())"
        let control = "tcp://127.0.0.1:\(try Self.freePort())"
        let links = ["--snapshot-endpoint", snapshots, "--control-endpoint", control]
        try await RollcastStack.with(
            producerArguments: ["--mock-symbols", "CV", "--interval", "0.3", "--curve-secret-key", "\(keys)/producer.key", "--curve-allow", "\(keys)/gateway.pub"] + links,
            gatewayArguments: links + ["--curve-secret-key", "\(keys)/gateway.key", "--curve-server-key", "\(keys)/producer.pub"]
        ) { stack in
            try await stack.waitUntilReady()
            let chart = try await stack.chart("CV", fromSeq: 1)
            #expect(!chart.t.isEmpty)
            let status = try await stack.producerStatus()
            #expect(status?.symbols == ["CV"], "the control link works over CURVE too")

            // A gateway whose key the producer does not admit.
            let portFile = "\(stack.runDirectory)/stranger.port"
            let stranger = try RollcastProcess(
                executable: "rollcast-gateway",
                arguments: ["--run-dir", stack.runDirectory, "--port", "0", "--port-file", portFile, "--web-root", "\(TestEnvironment.repositoryRoot)/web"]
                    + links + ["--curve-secret-key", "\(keys)/stranger.key", "--curve-server-key", "\(keys)/producer.pub"],
                logPath: "\(stack.runDirectory)/stranger.log"
            )
            defer { Task { await stranger.stop() } }
            let port = try await poll("the stranger's port file", within: .seconds(20)) {
                (try? String(contentsOfFile: portFile, encoding: .utf8)).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            }
            _ = try await poll("the producer to log the refusal", within: .seconds(10)) {
                stack.producer!.log.contains("peer refused") ? true : nil
            }
            #expect(stack.producer!.log.contains(try String(contentsOfFile: "\(keys)/stranger.pub", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
            // While the admitted gateway relays three more snapshots, the stranger gets none.
            try await ReadinessTests.waitForSnapshots(3, through: stack)
            let answer = try await testHTTPClient.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/readyz"), timeout: .seconds(5))
            #expect(answer.status == .serviceUnavailable, "a gateway with a key the producer does not admit got snapshots")
            await stranger.stop()
        }
    }

    @Test("a producer will not bind tcp:// on an address other machines reach without CURVE")
    func plaintextRefused() async throws {
        let directory = "/tmp/rcp-\(UUID().uuidString.prefix(8).lowercased())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let refused = try await Self.run("rollcast-producer", ["--run-dir", directory, "--snapshot-endpoint", "tcp://0.0.0.0:5556"], in: directory)
        #expect(refused.status != 0)
        #expect(refused.text.contains("tcp://0.0.0.0:5556 can be reached from other machines: give --curve-secret-key and --curve-allow"), "\(refused.text)")
        let lonely = try await Self.run("rollcast-producer", ["--run-dir", directory, "--curve-secret-key", "/nonexistent.key"], in: directory)
        #expect(lonely.status != 0 && lonely.text.contains("--curve-secret-key needs --curve-allow"), "\(lonely.text)")
    }
}
