import ArgumentParser
import Foundation
import RollcastCore
import RollcastProducer
import ZeroMQ

/// A persisting producer holding `symbols` × `ticks` killed and started again: time to its first snapshot.
struct RestartBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restart",
        abstract: "SIGKILL a producer with --data-dir holding N symbols × M ticks; time from the new process's start to its first snapshot."
    )

    @Option(help: "Symbols.")
    var symbols = 1_000
    @Option(help: "Ticks per symbol.")
    var ticks = 3_000
    @Option(help: "Restarts to time.")
    var runs = 3
    @Option(help: "Folder holding rollcast-producer (default: beside this program).")
    var binDir: String?

    func run() async throws {
        let bin = benchBinDirectory(binDir)
        let directory = try makeBenchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let arguments = [
            "--run-dir", directory, "--no-mock-feed", "--log-level", "warning", "--max-symbols", "\(symbols)", "--data-dir", "\(directory)/data",
        ]
        var producer = try startProducer(bin: bin, arguments: arguments)
        let context = try ZMQContext()
        let control = try ControlProbe(context: context, endpoint: "ipc://\(directory)/control.sock")
        _ = try await control.status(within: .seconds(20))
        // Batch k holds tick k of every symbol: `ticks` batches of `symbols` ticks.
        progress("filling: \(symbols) symbols × \(ticks) ticks")
        let start = Date().timeIntervalSince1970 - 200
        let push = try ZMQSocket(context: context, type: .push)
        try push.connect("ipc://\(directory)/ingest.sock")
        for number in 0..<ticks {
            let t = RandomWalk.milliseconds(start + Double(number) * 150 / Double(ticks))
            let body = (0..<symbols).map { #"{"symbol":"S\#($0)","t":\#(t),"price":\#(100 + Double(number % 997) / 100)}"# }
            try push.send(Array(#"{"ticks":[\#(body.joined(separator: ","))]}"#.utf8))
        }
        while try await control.status(within: .seconds(10)).ingest.socket.ticks < symbols * ticks {
            try await Task.sleep(for: .milliseconds(50))
        }
        print("| symbols × ticks | database on disk | process start → first snapshot | journal read back (restore_ms) | first snapshot |")
        print("|---|---|---|---|---|")
        for _ in 0..<runs {
            kill(producer.processIdentifier, SIGKILL)
            producer.waitUntilExit()
            let size = ["rollcast.sqlite", "rollcast.sqlite-wal"].reduce(0) { total, file in
                total + ((try? FileManager.default.attributesOfItem(atPath: "\(directory)/data/\(file)")[.size] as? Int) ?? 0)
            }
            // Subscribed before the start, so the first snapshot is not missed.
            let subscriber = try ZMQSocket(context: context, type: .sub)
            try subscriber.subscribe(SnapshotHeader.topic)
            try subscriber.setReceiveTimeout(milliseconds: 30_000)
            try subscriber.setMaxMessageSize(-1)
            try subscriber.connect("ipc://\(directory)/snapshots.sock")
            let started = ContinuousClock.now
            producer = try startProducer(bin: bin, arguments: arguments)
            guard let parts = try subscriber.receiveMultipart() else { throw ValidationError("no snapshot within 30 s") }
            let elapsed = started.duration(to: .now)
            subscriber.close()
            let status = try await control.status(within: .seconds(10))
            print(
                "| \(symbols) × \(ticks) | \(size / 1_000_000) MB | \(elapsed.milliseconds) ms | \(status.persistence?.restoreMilliseconds ?? 0) ms "
                    + "| \(parts.last!.count / 1_000_000) MB, \(status.symbols.count) charts |"
            )
        }
        producer.terminate()
        producer.waitUntilExit()
    }
}
