import ArgumentParser
import Foundation
import NIOPosix
import RollcastCore

/// Starts a producer and a gateway, connects N WebSocket clients and measures what they get.
struct FanoutBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fanout",
        abstract: "N clients on a real gateway: delivered fraction, latency from generated_at, gateway CPU and memory."
    )

    @Option(help: "Clients, comma-separated for several runs.")
    var clients = "100,1000"
    @Option(help: "Symbols per snapshot.")
    var symbols = 20
    @Option(help: "Points per symbol.")
    var points = 300
    @Option(help: "Seconds between snapshots.")
    var interval = 1.0
    @Option(help: "Seconds of measurement once every client is connected.")
    var duration = 10.0
    @Flag(help: "Run the gateway with --permessage-deflate and have every client offer it.")
    var deflate = false
    @Flag(help: "Clients ask for the delta stream (rollcast.delta.v1): one full message, then only what changed.")
    var delta = false
    @Flag(help: "Run the gateway with a token key and have every client connect with a read token (valid 1 h): the cost of checking tokens and of each connection's expiry timer.")
    var token = false
    @Option(help: "How clients read: skim (frame headers and the first bytes of each message; the least client CPU) or decode (NIO's decoder, every message gathered whole).")
    var reader = FanoutReader.skim
    @Flag(help: "Also print each snapshot's size and first, median and last arrival (on stderr): tells a slow snapshot from a slow client.")
    var perSnapshot = false
    @Option(help: "Each client reads at most this many KB/s (1 KB = 1,000 bytes), like a browser on a slow link.")
    var clientBandwidth: Double?
    @Flag(help: "Measure idle connections instead: the producer publishes an empty snapshot once an hour, so after connecting no client gets anything; prints the gateway's memory, how long the clients took to connect and how long the gateway then takes to stop.")
    var idle = false
    @Option(help: "Folder holding rollcast-producer and rollcast-gateway (default: beside this program).")
    var binDir: String?

    func validate() throws {
        if let clientBandwidth, !(clientBandwidth > 0) { throw ValidationError("--client-bandwidth must be above 0 KB/s") }
    }

    func run() async throws {
        let bin = binDir ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path
        if idle {
            print("| idle clients | connected | connecting took | gateway RSS before → with clients | per client | peak RSS | gateway stop (SIGTERM to exit) |")
            print("|---|---|---|---|---|---|---|")
            for count in clients.split(separator: ",").compactMap({ Int($0) }) {
                try await runIdle(clients: count, bin: bin)
            }
            return
        }
        let loopback = loopbackBytesPerSecond() ?? .infinity
        print("stream: \(delta ? "delta" : "full"), permessage-deflate: \(deflate ? "on" : "off"), tokens: \(token ? "on" : "off"), clients read by: \(reader.rawValue)" + (clientBandwidth.map { ", at most \(format($0, 0)) KB/s each" } ?? ""))
        print("loopback TCP on 127.0.0.1, \(ProcessInfo.processInfo.activeProcessorCount) connections at once, best of 3: \(format(loopback / 1e9, 2)) GB/s")
        print("| clients | connected | snapshots | delivered | message | per client per second | loopback floor | p50 ms | p99 ms | max ms | gateway CPU s/s | load generator CPU s/s | gateway RSS before → with clients | per client | peak RSS |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for count in clients.split(separator: ",").compactMap({ Int($0) }) {
            try await runOnce(clients: count, bin: bin, loopbackBytesPerSecond: loopback)
        }
    }

    /// Starts a producer and a gateway and connects `count` clients to it.
    /// - Returns: the stack (stop it when done), the gateway's RSS in KiB before the clients
    ///   came, and the clients' event loops and recorder.
    private func connected(
        _ count: Int, bin: String, symbols: Int, interval: Double
    ) async throws -> (BenchStack, Int, MultiThreadedEventLoopGroup, FanoutRecorder, connectSeconds: Double) {
        let stack = try BenchStack(bin: bin, symbols: symbols, points: points, interval: interval, maxClients: count + 100, deflate: deflate, tokens: token)
        let readToken: String?
        do {
            try await stack.waitUntilReady()
            readToken = token ? try stack.readToken(bin: bin) : nil
        } catch {
            stack.stop()
            throw error
        }
        let before = ProcessStats(pid: stack.gateway.processIdentifier).memoryKiB.resident
        progress("\(count) clients: connecting")
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let recorder = FanoutRecorder()
        let connectStart = ContinuousClock.now
        await connectClients(
            count: count, port: stack.port, group: group, recorder: recorder, deflate: deflate, reader: reader, delta: delta, token: readToken,
            bytesPerSecond: clientBandwidth.map { $0 * 1000 }
        )
        return (stack, before, group, recorder, connectStart.duration(to: .now).seconds)
    }

    /// Gateway memory for `count` connections that carry nothing once connected; how long they
    /// took to connect, and how long the gateway then takes to stop (SIGTERM to exit: every
    /// client closed with 1001 and its close handshake answered).
    func runIdle(clients count: Int, bin: String) async throws {
        let (stack, before, group, recorder, connectSeconds) = try await connected(count, bin: bin, symbols: 0, interval: 3600)
        defer { stack.stop() }
        let gateway = ProcessStats(pid: stack.gateway.processIdentifier)
        // Each client got the (empty) cached snapshot on connecting; let the gateway settle.
        try await Task.sleep(for: .seconds(2))
        let memory = gateway.memoryKiB
        let stopStart = ContinuousClock.now
        stack.gateway.terminate()
        stack.gateway.waitUntilExit()
        let stopSeconds = stopStart.duration(to: .now).seconds
        try await group.shutdownGracefully()
        let perClient = count > 0 ? Double(memory.resident - before) / Double(count) : 0
        print(
            "| \(count) | \(recorder.upgraded) (\(recorder.failed + recorder.errors) failed) | \(format(connectSeconds, 2)) s | \(before / 1024) → \(memory.resident / 1024) MiB "
                + "| \(format(perClient, 1)) KiB (\(format(perClient * 1.024, 1)) KB) | \(memory.peak / 1024) MiB | \(format(stopSeconds, 2)) s |"
        )
    }

    /// The loopback floor is the time to push every client's copy of one message through
    /// 127.0.0.1 at the measured rate: no gateway can have its last client served sooner here.
    func runOnce(clients count: Int, bin: String, loopbackBytesPerSecond: Double) async throws {
        let (stack, rssBefore, group, recorder, _) = try await connected(count, bin: bin, symbols: symbols, interval: interval)
        defer { stack.stop() }
        let gateway = ProcessStats(pid: stack.gateway.processIdentifier)
        // Let every client take the cached snapshot and one fresh one before measuring.
        try await Task.sleep(for: .seconds(interval * 2))
        let withClients = gateway.memoryKiB.resident
        let before = recorder.snapshot()
        let firstSeq = (before.map(\.seq).max() ?? 0) + 1
        progress("\(count) clients: \(recorder.upgraded) connected, measuring for \(format(duration)) s")
        let generator = ProcessStats(pid: getpid())
        let cpuStart = gateway.cpuSeconds
        let generatorCPUStart = generator.cpuSeconds
        let started = ContinuousClock.now
        try await Task.sleep(for: .seconds(duration))
        let cpu = gateway.cpuSeconds - cpuStart
        let generatorCPU = generator.cpuSeconds - generatorCPUStart
        let elapsed = started.duration(to: .now)
        let seconds = elapsed.seconds
        // The last snapshot may still be on its way: count up to the one before it.
        let arrivals = recorder.snapshot()
        let lastSeq = (arrivals.map(\.seq).max() ?? 1) - 1
        try await group.shutdownGracefully()

        let measured = arrivals.filter { $0.seq >= firstSeq && $0.seq <= lastSeq }
        let snapshots = lastSeq >= firstSeq ? Int(lastSeq - firstSeq + 1) : 0
        let expected = recorder.upgraded * snapshots
        let delivered = expected > 0 ? Double(measured.count) / Double(expected) : 0
        let latencies = measured.map(\.latencyMilliseconds).sorted()
        if perSnapshot {
            for (seq, arrivals) in Dictionary(grouping: measured, by: \.seq).sorted(by: { $0.key < $1.key }) {
                let times = arrivals.map(\.latencyMilliseconds).sorted()
                let sizes = Set(arrivals.map(\.bytes)).sorted().map { "\($0)" }.joined(separator: "/")
                progress("seq \(seq): \(times.count) received of \(sizes) bytes, first \(format(times[0])) ms, p50 \(format(times[times.count / 2])) ms, last \(format(times[times.count - 1])) ms")
            }
        }
        func percentile(_ p: Double) -> Double {
            latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(p / 100 * Double(latencies.count - 1)))]
        }
        let measuredBytes = Double(measured.reduce(0) { $0 + $1.bytes })
        let messageBytes = measured.isEmpty ? 0 : measuredBytes / Double(measured.count)
        // Over the measured snapshots, as a client on the link sees it.
        let bytesPerClientSecond = recorder.upgraded > 0 && snapshots > 0 ? measuredBytes / Double(recorder.upgraded) / (Double(snapshots) * interval) : 0
        let floorMilliseconds = Double(recorder.upgraded) * messageBytes / loopbackBytesPerSecond * 1000
        let memory = gateway.memoryKiB
        let perClient = count > 0 ? Double(withClients - rssBefore) / Double(count) : 0
        print(
            "| \(count) | \(recorder.upgraded) (\(recorder.failed + recorder.errors) failed) | \(snapshots) | \(format(delivered * 100, 2)) % "
                + "| \(format(messageBytes / 1000)) KB | \(format(bytesPerClientSecond / 1000)) KB/s | \(format(floorMilliseconds)) ms | \(format(percentile(50))) | \(format(percentile(99))) | \(format(latencies.last ?? 0)) "
                + "| \(format(cpu / seconds, 2)) | \(format(generatorCPU / seconds, 2)) | \(rssBefore / 1024) → \(withClients / 1024) MiB | \(format(perClient, 1)) KiB | \(memory.peak / 1024) MiB |"
        )
    }
}

/// A producer and a gateway for one benchmark run, on a free port and a private run directory.
final class BenchStack {
    let directory: String
    let producer = Process()
    let gateway = Process()
    private(set) var port = 0

    /// - Parameter tokens: the gateway asks for tokens (``readToken(bin:)`` makes one).
    init(bin: String, symbols: Int, points: Int, interval: Double, maxClients: Int, deflate: Bool, tokens: Bool = false) throws {
        directory = "/tmp/rcb-\(UUID().uuidString.prefix(8).lowercased())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        if tokens {
            let key = (0..<48).map { _ in "abcdefghijklmnopqrstuvwxyz0123456789".randomElement()! }
            FileManager.default.createFile(atPath: keyPath, contents: Data(String(key).utf8), attributes: [.posixPermissions: 0o600])
        }
        let log = FileHandle(forWritingAtPath: "/dev/null")
        producer.executableURL = URL(fileURLWithPath: "\(bin)/rollcast-producer")
        producer.arguments = ["--run-dir", directory] + Self.producerArguments(symbols: symbols, points: points, interval: interval)
        gateway.executableURL = URL(fileURLWithPath: "\(bin)/rollcast-gateway")
        gateway.arguments = [
            "--run-dir", directory, "--port", "0", "--port-file", "\(directory)/port", "--max-clients", "\(maxClients)",
            "--log-level", "warning",
        ] + (deflate ? ["--permessage-deflate"] : []) + (tokens ? ["--jwt-secret-file", keyPath] : [])
        for process in [producer, gateway] {
            process.standardOutput = log
            process.standardError = FileHandle.standardError
        }
        try producer.run()
        try gateway.run()
    }

    private var keyPath: String { "\(directory)/jwt.key" }

    /// A read token for 1 hour, made by the gateway's own `token` command.
    func readToken(bin: String) throws -> String {
        let command = Process()
        let output = Pipe()
        command.executableURL = URL(fileURLWithPath: "\(bin)/rollcast-gateway")
        command.arguments = ["--jwt-secret-file", keyPath, "token", "--role", "read", "--ttl", "1h"]
        command.standardOutput = output
        try command.run()
        command.waitUntilExit()
        let token = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard command.terminationStatus == 0, !token.isEmpty else { throw ValidationError("rollcast-gateway token failed") }
        return token
    }

    /// The benchmarks' feed: one tick per second per symbol over a window of `points` seconds,
    /// so `points` per chart, none reduced. No symbols: no mock feed, every snapshot an empty array.
    static func producerArguments(symbols: Int, points: Int, interval: Double) -> [String] {
        let feed = symbols > 0 ? ["--mock-symbols", (1...symbols).map { "S\($0)" }.joined(separator: ",")] : ["--no-mock-feed"]
        return ["--interval", "\(interval)", "--window", "\(points)", "--mock-rate", "1", "--max-points", "0", "--log-level", "warning"] + feed
    }

    func waitUntilReady() async throws {
        let deadline = ContinuousClock.now.advanced(by: .seconds(30))
        while ContinuousClock.now < deadline {
            if let text = try? String(contentsOfFile: "\(directory)/port", encoding: .utf8), let port = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                self.port = port
                if Self.isReady(port: port) { return }
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw ValidationError("the gateway did not become ready within 30 s")
    }

    /// `GET /readyz` over a plain socket.
    static func isReady(port: Int) -> Bool {
        guard let fd = connectedLoopbackSocket(port: UInt16(port)) else { return false }
        defer { close(fd) }
        let request = Array("GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8)
        _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        var buffer = [UInt8](repeating: 0, count: 64)
        let got = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        return got > 12 && String(decoding: buffer[9..<12], as: UTF8.self) == "200"
    }

    func stop() {
        for process in [gateway, producer] where process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: directory)
    }
}
