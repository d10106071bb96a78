import ArgumentParser
import Foundation
import NIOPosix
import RollcastCore
import RollcastProducer

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
    @Option(help: "How Rollcast's clients connect: websocket, or sse (/sse/realtime_charts, the same stream and symbols).")
    var transport = ClientTransport.websocket
    @Option(help: "Distinct symbol sets the clients choose from (?symbols=), drawn at random from the symbols; client i takes set i mod N. 0: every client gets every symbol.")
    var sets = 0
    @Option(help: "Symbols in each set.")
    var setSize = 5
    @Option(help: "Relays to measure after Rollcast at each client count, at Rollcast's bytes per message, comma-separated: floor (the least a relay on NIO does), nchan (Nchan on nginx).")
    var compare = ""
    @Option(help: "Folder holding nginx and ngx_nchan_module.so, for --compare nchan.")
    var nchanTools = ".build-tools"

    func validate() throws {
        if let clientBandwidth, !(clientBandwidth > 0) { throw ValidationError("--client-bandwidth must be above 0 KB/s") }
        if sets < 0 { throw ValidationError("--sets must be 0 or more") }
        if sets > 0, !(1...256).contains(setSize) || setSize > symbols { throw ValidationError("--set-size must be 1 to 256, and at most --symbols") }
        if transport == .sse, deflate || token || reader == .decode || clientBandwidth != nil {
            throw ValidationError("--transport sse goes with the skimming reader alone (no --deflate, --token, --client-bandwidth)")
        }
        _ = try comparedRelays()
    }

    func comparedRelays() throws -> [ComparedRelay] {
        try compare.split(separator: ",").map { name in
            guard let relay = ComparedRelay(rawValue: String(name)) else { throw ValidationError("--compare: \(name) is not floor or nchan") }
            return relay
        }
    }

    /// The symbol sets clients choose from, the same in every run (a fixed seed).
    var symbolSets: [[String]] {
        var random = SplitMix64(seed: 2_026)
        let all = (1...max(symbols, 1)).map { "S\($0)" }
        return (0..<sets).map { _ in Array(all.shuffled(using: &random).prefix(setSize)).sorted() }
    }

    /// Client `i`'s query: its set's symbols, when clients choose sets.
    var clientQuery: @Sendable (Int) -> String? {
        let sets = symbolSets
        guard !sets.isEmpty else { return { _ in nil } }
        return { client in "symbols=" + sets[client % sets.count].joined(separator: ",") }
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
        print(
            "stream: \(delta ? "delta" : "full") over \(transport == .sse ? "SSE" : "WebSocket"), permessage-deflate: \(deflate ? "on" : "off"), tokens: \(token ? "on" : "off"), clients read by: \(reader.rawValue)"
                + (clientBandwidth.map { ", at most \(format($0, 0)) KB/s each" } ?? "") + (sets > 0 ? ", each client one of \(sets) sets of \(setSize) symbols" : "")
        )
        print("loopback TCP on 127.0.0.1, \(ProcessInfo.processInfo.activeProcessorCount) connections at once, best of 3: \(format(loopback / 1e9, 2)) GB/s")
        print("| relay | clients | connected | snapshots | delivered | message | per client per second | loopback floor | p50 ms | p99 ms | max ms | relay CPU s/s | load generator CPU s/s | relay RSS before → with clients | per client | peak RSS |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        var ratios: [String] = []
        for count in clients.split(separator: ",").compactMap({ Int($0) }) {
            let rollcast = try await runRollcast(clients: count, bin: bin, loopbackBytesPerSecond: loopback)
            for compared in try comparedRelays() {
                let bytes = max(64, Int(rollcast.messageBytes.rounded()))
                let relay: any MeasuredRelay =
                    switch compared {
                    case .floor: try await FloorProcess(bytes: bytes, interval: interval)
                    case .nchan: try await NchanProcess(tools: nchanTools, bytes: bytes, interval: interval)
                    }
                let other = try await measure(relay, name: compared.rawValue, clients: count, loopbackBytesPerSecond: loopback)
                ratios.append(
                    "| \(count) | Rollcast / \(compared.rawValue) | \(format(rollcast.p99 / max(other.p99, 0.001), 2)) | \(format(rollcast.cpu / max(other.cpu, 0.0001), 2)) | \(format(rollcast.delivered * 100, 2)) % / \(format(other.delivered * 100, 2)) % |"
                )
            }
        }
        if !ratios.isEmpty {
            print("")
            print("| clients | ratio | p99 | relay CPU | delivered |")
            print("|---|---|---|---|---|")
            for line in ratios { print(line) }
        }
    }

    /// Starts a producer and a gateway and connects `count` clients to it.
    /// - Returns: the stack (stop it when done), the gateway's RSS in KiB before the clients
    ///   came, and the clients' event loops and recorder.
    private func connected(
        _ count: Int, bin: String, symbols: Int, interval: Double
    ) async throws -> (BenchStack, Int, MultiThreadedEventLoopGroup, FanoutRecorder, connectSeconds: Double) {
        let stack = try BenchStack(
            bin: bin, symbols: symbols, points: points, interval: interval, maxClients: count + 100, deflate: deflate, tokens: token,
            maxSubscriptionSets: max(sets + 10, 1_000)
        )
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
            bytesPerSecond: clientBandwidth.map { $0 * 1000 }, transport: transport, query: clientQuery
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

    /// One measured run: its figures, for the ratios.
    struct Measured {
        let messageBytes: Double
        let bytesPerClientSecond: Double
        let p99: Double
        let cpu: Double
        let delivered: Double
    }

    /// Rollcast: a producer, a gateway, `count` clients of the chosen transport, stream and sets.
    func runRollcast(clients count: Int, bin: String, loopbackBytesPerSecond: Double) async throws -> Measured {
        let (stack, rssBefore, group, recorder, _) = try await connected(count, bin: bin, symbols: symbols, interval: interval)
        defer { stack.stop() }
        let needed = sets > 0 && delta ? await NeededBytes.measure(port: stack.port, sets: symbolSets, clients: count) : nil
        let measured = try await measure(
            stack, name: "rollcast" + (transport == .sse ? " (SSE)" : ""), clients: count, loopbackBytesPerSecond: loopbackBytesPerSecond, group: group,
            recorder: recorder, rssBefore: rssBefore
        )
        if let needed {
            print(
                "| | what each client's \(setSize) symbols alone need: \(format(needed / 1000, 2)) KB per message, \(format(needed * (1 / interval) / 1000, 2)) KB/s; sent \(format(measured.messageBytes / needed, 2))× that | | | | | | | | | | | | | | |"
            )
        }
        return measured
    }

    /// `count` WebSocket clients of `relay` (a compared one: no subprotocol, no symbols).
    func measure(_ relay: any MeasuredRelay, name: String, clients count: Int, loopbackBytesPerSecond: Double) async throws -> Measured {
        defer { relay.stop() }
        let rssBefore = relay.residentKiB
        progress("\(name), \(count) clients: connecting")
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let recorder = FanoutRecorder()
        await connectClients(count: count, port: relay.port, group: group, recorder: recorder, deflate: false, reader: .skim, path: relay.path)
        return try await measure(relay, name: name, clients: count, loopbackBytesPerSecond: loopbackBytesPerSecond, group: group, recorder: recorder, rssBefore: rssBefore)
    }

    /// The loopback floor is the time to push every client's copy of one message through
    /// 127.0.0.1 at the measured rate: no relay can have its last client served sooner here.
    func measure(
        _ relay: any MeasuredRelay, name: String, clients count: Int, loopbackBytesPerSecond: Double, group: MultiThreadedEventLoopGroup,
        recorder: FanoutRecorder, rssBefore: Int
    ) async throws -> Measured {
        // Let every client take the cached snapshot and one fresh one before measuring.
        try await Task.sleep(for: .seconds(interval * 2))
        let withClients = relay.residentKiB
        var peak = withClients
        let before = recorder.snapshot()
        let firstSeq = (before.map(\.seq).max() ?? 0) + 1
        progress("\(name), \(count) clients: \(recorder.upgraded) connected, measuring for \(format(duration)) s")
        let generator = ProcessStats(pid: getpid())
        let cpuStart = relay.cpuSeconds
        let generatorCPUStart = generator.cpuSeconds
        let started = ContinuousClock.now
        let end = started.advanced(by: .seconds(duration))
        while ContinuousClock.now < end {
            try await Task.sleep(for: .milliseconds(500))
            peak = max(peak, relay.residentKiB)
        }
        let cpu = relay.cpuSeconds - cpuStart
        let generatorCPU = generator.cpuSeconds - generatorCPUStart
        let seconds = started.duration(to: .now).seconds
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
        let perClient = count > 0 ? Double(withClients - rssBefore) / Double(count) : 0
        print(
            "| \(name) | \(count) | \(recorder.upgraded) (\(recorder.failed + recorder.errors) failed) | \(snapshots) | \(format(delivered * 100, 2)) % "
                + "| \(format(messageBytes / 1000, 2)) KB | \(format(bytesPerClientSecond / 1000, 2)) KB/s | \(format(floorMilliseconds)) ms | \(format(percentile(50))) | \(format(percentile(99))) | \(format(latencies.last ?? 0)) "
                + "| \(format(cpu / seconds, 3)) | \(format(generatorCPU / seconds, 2)) | \(rssBefore / 1024) → \(withClients / 1024) MiB | \(format(perClient, 1)) KiB | \(peak / 1024) MiB |"
        )
        return Measured(messageBytes: messageBytes, bytesPerClientSecond: bytesPerClientSecond, p99: percentile(99), cpu: cpu / seconds, delivered: delivered)
    }
}

/// A producer and a gateway for one benchmark run, on a free port and a private run directory.
final class BenchStack: MeasuredRelay {
    let directory: String
    let producer = Process()
    let gateway = Process()
    private(set) var port = 0

    /// - Parameter tokens: the gateway asks for tokens (``readToken(bin:)`` makes one).
    init(bin: String, symbols: Int, points: Int, interval: Double, maxClients: Int, deflate: Bool, tokens: Bool = false, maxSubscriptionSets: Int = 1_000) throws {
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
            "--log-level", "warning", "--max-subscription-sets", "\(maxSubscriptionSets)",
        ] + (deflate ? ["--permessage-deflate"] : []) + (tokens ? ["--jwt-secret-file", keyPath] : [])
        for process in [producer, gateway] {
            process.standardOutput = log
            process.standardError = FileHandle.standardError
        }
        try producer.run()
        try gateway.run()
    }

    private var keyPath: String { "\(directory)/jwt.key" }

    let path = "/ws/realtime_charts"
    var cpuSeconds: Double { ProcessStats(pid: gateway.processIdentifier).cpuSeconds }
    var residentKiB: Int { ProcessStats(pid: gateway.processIdentifier).memoryKiB.resident }

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
