import ArgumentParser
import Foundation
import NIOPosix
import RollcastCore

/// Capacity through the broker: G gateways behind one broker, each with its own load generator
/// (a child process) and N clients, against one gateway connected straight to the producer
/// with N clients, in the same run: delivered fraction, end-to-end latency (from the
/// producer's `generated_at` to the last byte read) and every process's CPU.
struct ScaleBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scale", abstract: "Gateways behind a broker, one load generator each, against one gateway straight on the producer."
    )

    @Option(help: "Clients per gateway.")
    var clients = 9_000
    @Option(help: "Gateways behind the broker.")
    var gateways = 2
    @Option(help: "Symbols per snapshot.")
    var symbols = 20
    @Option(help: "Points per symbol.")
    var points = 300
    @Option(help: "Seconds between snapshots.")
    var interval = 1.0
    @Option(help: "Seconds of measurement once every client is connected.")
    var duration = 10.0
    @Flag(help: "Clients ask for the delta stream.")
    var delta = false
    @Option(help: "Folder of the rollcast executables (default: beside this program).")
    var binDir: String?

    func run() async throws {
        let bin = benchBinDirectory(binDir)
        print("\(symbols) symbols × \(points) points, one snapshot every \(interval) s, \(delta ? "delta" : "full") stream, \(ProcessInfo.processInfo.activeProcessorCount) cores")
        print("| setup | clients | delivered | p50 ms | p99 ms | max ms | producer CPU s/s | broker CPU s/s | gateway CPU s/s (each) | load generators CPU s/s (each) |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        try await measure(throughBroker: false, gatewayCount: 1, clientsPerGateway: clients, bin: bin)
        // The same total on one gateway, when it fits under one process's file limit.
        if gateways * clients < 19_500 { try await measure(throughBroker: false, gatewayCount: 1, clientsPerGateway: gateways * clients, bin: bin) }
        try await measure(throughBroker: true, gatewayCount: gateways, clientsPerGateway: clients, bin: bin)
    }

    private func spawn(_ bin: String, _ name: String, _ arguments: [String], stdin: Pipe? = nil, stdout: Pipe? = nil) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "\(bin)/\(name)")
        process.arguments = arguments
        process.standardError = FileHandle.standardError
        process.standardOutput = stdout ?? FileHandle(forWritingAtPath: "/dev/null")
        if let stdin { process.standardInput = stdin }
        try process.run()
        return process
    }

    func measure(throughBroker: Bool, gatewayCount: Int, clientsPerGateway clients: Int, bin: String) async throws {
        let directory = try makeBenchDirectory()
        let run = RunDirectory(path: directory)
        var processes: [Process] = []
        defer {
            for process in processes.reversed() where process.isRunning {
                process.terminate()
                process.waitUntilExit()
            }
            try? FileManager.default.removeItem(atPath: directory)
        }
        var broker: Process?
        if throughBroker {
            broker = try spawn(bin, "rollcast-broker", ["--run-dir", directory, "--log-level", "warning"])
            processes.append(broker!)
        }
        let producer = try spawn(
            bin, "rollcast-producer",
            ["--run-dir", directory, "--name", "bench"] + BenchStack.producerArguments(symbols: symbols, points: points, interval: interval)
                + (throughBroker ? ["--broker", run.brokerProducerEndpoint] : [])
        )
        processes.append(producer)
        var gatewayPorts: [Int] = []
        var gatewayProcesses: [Process] = []
        for index in 0..<gatewayCount {
            let portFile = "\(directory)/gateway-\(index).port"
            let gateway = try spawn(
                bin, "rollcast-gateway",
                [
                    "--run-dir", directory, "--port", "0", "--port-file", portFile, "--max-clients", "\(clients + 100)", "--log-level", "warning",
                ] + (throughBroker ? ["--snapshot-endpoint", run.brokerGatewayEndpoint] : [])
            )
            processes.append(gateway)
            gatewayProcesses.append(gateway)
            let deadline = ContinuousClock.now.advanced(by: .seconds(30))
            while true {
                if let text = try? String(contentsOfFile: portFile, encoding: .utf8), let port = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)),
                    BenchStack.isReady(port: port)
                {
                    gatewayPorts.append(port)
                    break
                }
                guard ContinuousClock.now < deadline else { throw ValidationError("gateway \(index) was not ready within 30 s") }
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        // One load generator per gateway, each a process of its own with its own file limit.
        var generators: [(process: Process, input: Pipe, output: Pipe)] = []
        for port in gatewayPorts {
            let input = Pipe()
            let output = Pipe()
            let generator = try spawn(
                bin, "rollcast-bench", ["load", "--port", "\(port)", "--clients", "\(clients)", "--duration", "\(duration)"] + (delta ? ["--delta"] : []),
                stdin: input, stdout: output
            )
            processes.append(generator)
            generators.append((generator, input, output))
        }
        progress("\(throughBroker ? "broker" : "direct"): connecting \(gatewayCount) × \(clients) clients")
        for generator in generators {
            guard try readLine(generator.output) == "ready" else { throw ValidationError("a load generator did not connect its clients") }
        }
        // Every client has its first snapshots: measure all processes over the same window.
        try await Task.sleep(for: .seconds(interval * 2))
        // The load generators report their own CPU: they have exited when the others are read.
        let watched = [producer] + (broker.map { [$0] } ?? []) + gatewayProcesses
        let cpuBefore = watched.map { ProcessStats(pid: $0.processIdentifier).cpuSeconds }
        let started = ContinuousClock.now
        for generator in generators { generator.input.fileHandleForWriting.write(Data("go\n".utf8)) }
        var results: [LoadResult] = []
        for generator in generators {
            guard let line = try readLine(generator.output) else { throw ValidationError("a load generator ended without a result") }
            results.append(try JSONDecoder().decode(LoadResult.self, from: Data(line.utf8)))
        }
        let seconds = started.duration(to: .now).seconds
        let cpu = zip(watched, cpuBefore).map { (ProcessStats(pid: $0.processIdentifier).cpuSeconds - $1) / seconds }
        let latencies = results.flatMap(\.latencies).sorted()
        func percentile(_ p: Double) -> Double {
            latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(p / 100 * Double(latencies.count - 1)))]
        }
        let expected = results.reduce(0) { $0 + $1.expected }
        let received = results.reduce(0) { $0 + $1.received }
        let gatewayCPU = cpu[(broker == nil ? 1 : 2)..<(broker == nil ? 1 : 2) + gatewayCount].map { format($0, 2) }.joined(separator: ", ")
        let generatorCPU = results.map { format($0.cpuSeconds / $0.seconds, 2) }.joined(separator: ", ")
        print(
            "| \(throughBroker ? "broker, \(gatewayCount) gateways" : "1 gateway on the producer") | \(gatewayCount) × \(clients) (\(results.reduce(0) { $0 + $1.connected }) connected) "
                + "| \(format(expected > 0 ? Double(received) / Double(expected) * 100 : 0, 2)) % | \(format(percentile(50))) | \(format(percentile(99))) | \(format(latencies.last ?? 0)) "
                + "| \(format(cpu[0], 2)) | \(broker == nil ? "–" : format(cpu[1], 2)) | \(gatewayCPU) | \(generatorCPU) |"
        )
    }

    /// One line from a child's standard output, without its newline; `nil` at the end.
    private func readLine(_ pipe: Pipe) throws -> String? {
        var line = Data()
        while true {
            let byte = pipe.fileHandleForReading.readData(ofLength: 1)
            if byte.isEmpty { return line.isEmpty ? nil : String(decoding: line, as: UTF8.self) }
            if byte.first == UInt8(ascii: "\n") { return String(decoding: line, as: UTF8.self) }
            line.append(byte)
        }
    }
}

/// What a load generator reports: its clients' latencies over the measured snapshots.
struct LoadResult: Codable {
    let connected: Int
    /// Clients × snapshots published in the window, and how many of those arrived.
    let expected: Int
    let received: Int
    let latencies: [Double]
    /// The generator's own CPU over the measurement, and the measurement's length.
    let cpuSeconds: Double
    let seconds: Double
}

/// The load generator of `scale`: connects N clients to one gateway, says `ready`, waits for
/// `go` on its standard input, measures for the duration and prints a ``LoadResult`` line.
struct LoadGenerator: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "load", abstract: "The load generator of `scale` (one per gateway).", shouldDisplay: false)

    @Option var port: Int
    @Option var clients: Int
    @Option var duration: Double
    @Flag var delta = false

    func run() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let recorder = FanoutRecorder()
        await connectClients(count: clients, port: port, group: group, recorder: recorder, deflate: false, reader: .skim, delta: delta)
        // Straight to the pipe, unbuffered: the parent waits for this line.
        FileHandle.standardOutput.write(Data("ready\n".utf8))
        _ = Swift.readLine()
        let firstSeq = (recorder.snapshot().map(\.seq).max() ?? 0) + 1
        let ownCPU = ProcessStats(pid: getpid())
        let cpuBefore = ownCPU.cpuSeconds
        let started = ContinuousClock.now
        try await Task.sleep(for: .seconds(duration))
        let cpuSeconds = ownCPU.cpuSeconds - cpuBefore
        let seconds = started.duration(to: .now).seconds
        let arrivals = recorder.snapshot()
        // The last snapshot may still be on its way: count up to the one before it.
        let lastSeq = (arrivals.map(\.seq).max() ?? 1) - 1
        try await group.shutdownGracefully()
        let measured = arrivals.filter { $0.seq >= firstSeq && $0.seq <= lastSeq }
        let snapshots = lastSeq >= firstSeq ? Int(lastSeq - firstSeq + 1) : 0
        let result = LoadResult(
            connected: recorder.upgraded, expected: recorder.upgraded * snapshots, received: measured.count, latencies: measured.map(\.latencyMilliseconds),
            cpuSeconds: cpuSeconds, seconds: seconds
        )
        FileHandle.standardOutput.write(try JSONEncoder().encode(result) + Data("\n".utf8))
    }
}
