import ArgumentParser
import Foundation
import RollcastCore
import RollcastProducer
import ZeroMQ

/// Ticks per second through the producer's ingest socket, and what reading a batch costs.
struct IngestBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Batches pushed to a real producer's ingest socket: ticks applied per second, in memory and persisted."
    )

    @Option(help: "Ticks to push per run.")
    var ticks = 2_000_000
    @Option(help: "Ticks per batch.")
    var batch = 1_000
    @Option(help: "Symbols the ticks are spread over.")
    var symbols = 100
    @Option(help: "Runs per mode; the table shows each.")
    var runs = 3
    @Flag(help: "Skip the run with --data-dir.")
    var memoryOnly = false
    @Option(help: "Folder holding rollcast-producer (default: beside this program).")
    var binDir: String?

    func run() async throws {
        try compareReaders()
        let bin = benchBinDirectory(binDir)
        let batches = makeBatches()
        print("")
        print("| mode | ticks | batches of | seconds | ticks/s | producer CPU s/s | producer peak RSS |")
        print("|---|---|---|---|---|---|---|")
        for persisted in memoryOnly ? [false] : [false, true] {
            for _ in 0..<runs { try await pushRun(batches: batches, bin: bin, persisted: persisted) }
        }
    }

    /// The same 1,000-tick batch read by ``TickBatch/read(_:rules:now:)`` and by `JSONDecoder`.
    func compareReaders() throws {
        let body = makeBatches(count: 1)[0]
        let rules = TickRules()
        let now = Date().timeIntervalSince1970
        let repeats = 300
        let ours = median(runs: 5) {
            for _ in 0..<repeats { _ = try? TickBatch.read(body, rules: rules, now: now) }
        }
        struct Decoded: Decodable {
            struct Item: Decodable {
                let symbol: String
                let t: Double
                let price: Double
                let volume: Double?
            }
            let ticks: [Item]
            let batch_id: String?
        }
        let decoder = JSONDecoder()
        let data = Data(body)
        let foundation = median(runs: 5) {
            for _ in 0..<repeats { _ = try? decoder.decode(Decoded.self, from: data) }
        }
        let perRun = Double(repeats * batch)
        print("reading a batch of \(batch) ticks (\(body.count / 1000) KB), median of 5 × \(repeats):")
        print("| reader | ticks/s | MB/s |")
        print("|---|---|---|")
        print("| TickBatch.read (reads and checks every tick) | \(format(perRun / ours / 1e6, 2)) M | \(Int(Double(repeats * body.count) / ours / 1e6)) |")
        print("| JSONDecoder (reads only, no checks) | \(format(perRun / foundation / 1e6, 2)) M | \(Int(Double(repeats * body.count) / foundation / 1e6)) |")
    }

    /// Batches as a feed would send them: each tick a new time, symbols taking turns.
    func makeBatches(count: Int? = nil) -> [[UInt8]] {
        let total = count ?? ticks / batch
        let start = Date().timeIntervalSince1970 - 250
        // Spread over 200 s so every tick stays inside the default 300 s window.
        let spacing = 200.0 / Double(total * batch)
        return (0..<total).map { number in
            var body = #"{"batch_id":"bench-\#(number)","ticks":["#
            for index in 0..<batch {
                let sequence = number * batch + index
                let t = RandomWalk.milliseconds(start + Double(sequence) * spacing)
                if index > 0 { body += "," }
                body += #"{"symbol":"S\#(sequence % symbols)","t":\#(t),"price":\#(100 + Double(sequence % 997) / 100),"volume":\#(sequence % 50 + 1)}"#
            }
            return Array((body + "]}").utf8)
        }
    }

    func pushRun(batches: [[UInt8]], bin: String, persisted: Bool) async throws {
        let directory = try makeBenchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let producer = try startProducer(
            bin: bin,
            arguments: ["--run-dir", directory, "--no-mock-feed", "--log-level", "warning", "--max-symbols", "\(max(1_000, symbols))"]
                + (persisted ? ["--data-dir", "\(directory)/data"] : [])
        )
        defer {
            producer.terminate()
            producer.waitUntilExit()
        }
        let context = try ZMQContext()
        let control = try ControlProbe(context: context, endpoint: "ipc://\(directory)/control.sock")
        _ = try await control.status(within: .seconds(20))
        let total = batches.count * batch
        let stats = ProcessStats(pid: producer.processIdentifier)
        let cpuBefore = stats.cpuSeconds
        let started = ContinuousClock.now
        let pusher = Thread {
            do {
                let push = try ZMQSocket(context: context, type: .push)
                try push.setLinger(milliseconds: 60_000)
                try push.connect("ipc://\(directory)/ingest.sock")
                for body in batches { try push.send(body) }
                push.close()
            } catch {
                progress("pusher: \(error)")
            }
        }
        pusher.start()
        var applied = 0
        while applied < total {
            try await Task.sleep(for: .milliseconds(5))
            let status = try await control.status(within: .seconds(5))
            applied = status.ingest.socket.ticks
            if status.ingest.socket.refused > 0 { throw ValidationError("the producer refused a batch: \(status.ingest.socket.lastRefusal ?? "")") }
        }
        let elapsed = started.duration(to: .now)
        let seconds = elapsed.seconds
        let cpu = stats.cpuSeconds - cpuBefore
        print(
            "| \(persisted ? "--data-dir" : "in memory") | \(total) | \(batch) | \(format(seconds, 2)) | \(format(Double(total) / seconds / 1e6, 2)) M "
                + "| \(format(cpu / seconds, 2)) | \(stats.memoryKiB.peak / 1024) MiB |"
        )
    }
}
