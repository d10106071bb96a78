import ArgumentParser
import CSV
import Foundation
import RollcastCore
import RollcastProducer
import ZeroMQ

/// Replay speed with `--speed max`, and what reading the file costs with the replay's reader
/// and with CSV.swift.
struct ReplayBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "A generated CSV replayed by a real producer with --speed max: rows/s to read and to replay; the CSV reader against CSV.swift."
    )

    @Option(help: "Rows in the generated file.")
    var rows = 2_000_000
    @Option(help: "Symbols the rows are spread over.")
    var symbols = 100
    @Option(help: "Runs of each measurement.")
    var runs = 3
    @Option(help: "Folder holding rollcast-producer (default: beside this program).")
    var binDir: String?

    func run() async throws {
        let bin = benchBinDirectory(binDir)
        let directory = try makeBenchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var files: [(label: String, path: String)] = []
        for iso in [false, true] {
            let path = "\(directory)/\(iso ? "iso" : "unix").csv"
            try makeFile(path: path, iso: iso)
            files.append((iso ? "ISO-8601 t" : "Unix seconds t", path))
        }
        print("reading \(rows) rows (Unix seconds t) into ticks, median of \(runs):")
        print("| reader | rows/s |")
        print("|---|---|")
        let ours = median(runs: runs) { _ = try? ReplayFile(path: files[0].path, skipBad: false, maxSymbols: symbols, now: Date().timeIntervalSince1970) }
        print("| ReplayFile (CSVReader; reads, checks every row, sorts) | \(format(Double(rows) / ours / 1e6, 2)) M |")
        let library = median(runs: runs) { readWithCSVSwift(files[0].path) }
        print("| CSV.swift 2.5.2 from a String, then Double(String) per field | \(format(Double(rows) / library / 1e6, 2)) M |")
        print("")
        print("| file | rows | read and check | replay (--speed max) | rows/s replayed | rows/s from start |")
        print("|---|---|---|---|---|---|")
        for file in files {
            for _ in 0..<runs { try await replay(file, bin: bin, directory: directory) }
        }
    }

    private func makeFile(path: String, iso: Bool) throws {
        let start = 1_262_304_000.0
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'"
        var text = "t,symbol,price,volume\n"
        text.reserveCapacity(rows * 48)
        for row in 0..<rows {
            let t = start + Double(row) * 0.01
            let time = iso ? formatter.string(from: Date(timeIntervalSince1970: t)) : "\(RandomWalk.milliseconds(t))"
            text += "\(time),S\(row % symbols),\(100 + Double(row % 997) / 100),\(row % 90 + 1)\n"
        }
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

    private func readWithCSVSwift(_ path: String) {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8), let reader = try? CSVReader(string: text, hasHeaderRow: true) else { return }
        var ticks: [(Double, String, Double, Double)] = []
        ticks.reserveCapacity(rows)
        while let row = reader.next() {
            ticks.append((Double(row[0]) ?? 0, row[1], Double(row[2]) ?? 0, Double(row[3]) ?? 0))
        }
    }

    private func replay(_ file: (label: String, path: String), bin: String, directory: String) async throws {
        let runDirectory = "\(directory)/run"
        try? FileManager.default.createDirectory(atPath: runDirectory, withIntermediateDirectories: false)
        let started = ContinuousClock.now
        // A window over the whole file: every row stays, the worst case for the windows.
        let producer = try startProducer(
            bin: bin,
            arguments: [
                "--run-dir", runDirectory, "--replay", file.path, "--speed", "max", "--window", "86400", "--max-symbols", "\(symbols)",
                "--log-level", "warning",
            ]
        )
        defer {
            producer.terminate()
            producer.waitUntilExit()
        }
        let context = try ZMQContext()
        let control = try ControlProbe(context: context, endpoint: "ipc://\(runDirectory)/control.sock")
        var status = try await control.status(within: .seconds(60))
        while status.replay?.finished != true {
            try await Task.sleep(for: .milliseconds(20))
            status = try await control.status(within: .seconds(10))
        }
        let total = Double(started.duration(to: .now).milliseconds) / 1_000
        let replay = status.replay!
        let pass = replay.passSeconds ?? 0
        print(
            "| \(file.label) | \(replay.rows) | \(format(replay.readSeconds, 2)) s | \(format(pass, 2)) s | \(format(Double(replay.rows) / pass / 1e6, 2)) M "
                + "| \(format(Double(replay.rows) / total / 1e6, 2)) M |"
        )
    }
}
