import Foundation
import RollcastCore
import Testing

@Suite("Process lifecycle", .serialized, .timeLimit(.minutes(1)))
struct LifecycleTests {
    @Test("SIGTERM stops both processes with exit 0 within 2 s; the producer removes its socket files")
    func cleanShutdown() async throws {
        try await RollcastStack.with { stack in
            try await stack.waitUntilReady()
            for file in ["snapshots.sock", "control.sock"] {
                #expect(FileManager.default.fileExists(atPath: "\(stack.runDirectory)/\(file)"))
            }
            let gateway = try #require(stack.gateway)
            let producer = try #require(stack.producer)
            let gatewayExit = await gateway.stop(deadline: .seconds(2))
            #expect(gatewayExit == 0, "the gateway did not stop cleanly within 2 s: \(gatewayExit.map(String.init) ?? "killed"); its log:\n\(gateway.log.suffix(3000))")
            let producerExit = await producer.stop(signal: SIGINT, deadline: .seconds(2))
            #expect(producerExit == 0, "the producer did not stop cleanly within 2 s: \(producerExit.map(String.init) ?? "killed"); its log:\n\(producer.log.suffix(3000))")
            for file in ["snapshots.sock", "control.sock"] {
                #expect(!FileManager.default.fileExists(atPath: "\(stack.runDirectory)/\(file)"), "\(file) removed")
            }
        }
    }

    @Test("the gateway survives a producer SIGKILL and relays the next producer's snapshots")
    func producerRestart() async throws {
        try await RollcastStack.with(producerArguments: ["--mock-symbols", "R1", "--interval", "0.3"]) { stack in
            try await stack.waitUntilReady()
            let before = try RealtimeChartsTests.checkSnapshot(try await WebSocketProbe.messages(1, from: stack.webSocketURL, within: .seconds(5))[0])
            await stack.producer?.stop(signal: SIGKILL)
            _ = try await poll("the feed to turn stale", within: .seconds(15)) { try await ReadinessTests.readiness(stack).feed == "stale" ? true : nil }
            try stack.startProducer()  // binds over the socket files the killed one left
            _ = try await poll("the new run's snapshots", within: .seconds(10)) {
                let state = try await ReadinessTests.readiness(stack)
                return state.feed == "live" && state.runID != before[0].runID ? true : nil
            }
            let after = try RealtimeChartsTests.checkSnapshot(try await WebSocketProbe.messages(1, from: stack.webSocketURL, within: .seconds(5))[0])
            #expect(after[0].runID != before[0].runID, "snapshots now come from the new run")
        }
    }

    @Test("a second producer on the same run directory is refused; the first keeps running")
    func secondProducerRefused() async throws {
        try await RollcastStack.with { stack in
            try await stack.waitUntilReady()
            let second = try RollcastProcess(
                executable: "rollcast-producer",
                arguments: ["--run-dir", stack.runDirectory, "--no-mock-feed"],
                logPath: "\(stack.runDirectory)/second.log"
            )
            #expect(await second.waitForExit(within: .seconds(10)))
            #expect(second.process.terminationStatus != 0)
            #expect(second.log.contains("in use by another running process"), "\(second.log)")
            #expect(stack.producer?.isRunning == true)
            try await stack.waitUntilReady()
        }
    }

    @Test("a second gateway on a port in use exits non-zero saying so; the first keeps serving")
    func portInUse() async throws {
        try await RollcastStack.with { stack in
            let second = try RollcastProcess(
                executable: "rollcast-gateway",
                arguments: ["--run-dir", stack.runDirectory, "--port", "\(stack.port)"],
                logPath: "\(stack.runDirectory)/second-gateway.log"
            )
            #expect(await second.waitForExit(within: .seconds(10)))
            #expect(second.process.terminationStatus != 0)
            #expect(second.log.contains("127.0.0.1:\(stack.port) is in use by another process"), "\(second.log)")
            #expect(try await stack.request(.GET, "/healthz").status == .ok)
        }
    }

    @Test("a bad flag exits non-zero with a one-line message", arguments: [
        ("rollcast-producer", ["--interval", "0"], "--interval must be between 0.1 and 3600 seconds"),
        ("rollcast-producer", ["--bogus"], "Unknown option '--bogus'"),
        ("rollcast-gateway", ["--port", "70000"], "--port must be between 0 and 65535"),
        ("rollcast-gateway", ["--port", "eighty"], "The value 'eighty' is invalid for '--port"),
    ])
    func badFlag(executable: String, arguments: [String], message: String) async throws {
        let directory = "/tmp/rcf-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let process = try RollcastProcess(executable: executable, arguments: ["--run-dir", directory] + arguments, logPath: "\(directory)/log")
        #expect(await process.waitForExit(within: .seconds(10)))
        #expect(process.process.terminationStatus != 0)
        #expect(process.log.contains(message), "\(process.log)")
    }

    @Test("a producer whose run directory is deleted stops, and never removes the socket files of the producer started in its place")
    func runDirectoryRemoved() async throws {
        try await RollcastStack.with(producerArguments: ["--mock-symbols", "RD", "--interval", "0.3"]) { stack in
            try await stack.waitUntilReady()
            let first = try #require(stack.producer)
            try FileManager.default.removeItem(atPath: stack.runDirectory)
            // Another producer starts on the same path, as a supervisor would (it makes the folder again).
            let log = "/tmp/rcl-\(UUID().uuidString.prefix(8)).log"
            defer { try? FileManager.default.removeItem(atPath: log) }
            let second = try RollcastProcess(
                executable: "rollcast-producer",
                arguments: ["--run-dir", stack.runDirectory, "--mock-symbols", "RD2", "--interval", "0.3"],
                logPath: log
            )
            defer { Task { await second.stop() } }
            #expect(await first.waitForExit(within: .seconds(5)), "the first producer did not notice")
            #expect(first.process.terminationStatus != 0)
            for name in ["snapshots.sock", "control.sock", "ingest.sock"] {
                #expect(FileManager.default.fileExists(atPath: "\(stack.runDirectory)/\(name)"), "\(name) of the second producer was removed")
            }
            // The gateway now gets the second producer's snapshots.
            _ = try await poll("the second producer's chart, with its ticks", within: .seconds(10)) { () -> Bool? in
                let window = try await stack.window()
                return window.map(\.symbol) == ["RD2"] && !window[0].t.isEmpty ? true : nil
            }
            await second.stop()
        }
    }
}
