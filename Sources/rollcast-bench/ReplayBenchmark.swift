import ArgumentParser
import CSV
import Foundation
import RollcastCore
import RollcastProducer
import ZeroMQ

/// Replay speed with `--speed max` for each shape of file the replay reads, and what reading a
/// file costs with the replay's reader and with CSV.swift.
struct ReplayBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Generated CSV files of each shape (Unix, ISO-8601, month names, --time-format, a wide table, gzip) replayed by a real producer with --speed max."
    )

    @Option(help: "Rows in each generated narrow file (the wide file has a tenth as many rows of 10 values).")
    var rows = 2_000_000
    @Option(help: "Symbols the rows are spread over.")
    var symbols = 100
    @Option(help: "Runs of each measurement.")
    var runs = 3
    @Option(help: "Folder holding rollcast-producer (default: beside this program).")
    var binDir: String?

    /// One generated file: how it is replayed, and how many ticks each row makes.
    struct Shape {
        let label: String
        let path: String
        var arguments: [String] = []
        var valuesPerRow = 1
    }

    func run() async throws {
        let bin = benchBinDirectory(binDir)
        let directory = try makeBenchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let shapes = try makeFiles(in: directory)
        print("reading \(rows) rows (Unix seconds t) into ticks, median of \(runs):")
        print("| reader | rows/s |")
        print("|---|---|")
        let ours = median(runs: runs) { _ = read(shapes[0]) }
        print("| ReplayData (CSVReader; reads, checks every row, sorts) | \(format(Double(rows) / ours / 1e6, 2)) M |")
        let library = median(runs: runs) { readWithCSVSwift(shapes[0].path) }
        print("| CSV.swift 2.5.2 from a String, then Double(String) per field | \(format(Double(rows) / library / 1e6, 2)) M |")
        print("")
        print("reading in process, median of \(runs) (the same ISO-8601 rows, plain and gzip):")
        print("| file | bytes | read and check | ticks/s |")
        print("|---|---|---|---|")
        var readSeconds: [String: Double] = [:]
        for shape in shapes {
            let ticks = (rows / shape.valuesPerRow) * shape.valuesPerRow
            let seconds = median(runs: runs) { _ = read(shape) }
            readSeconds[shape.label] = seconds
            let size = (try? FileManager.default.attributesOfItem(atPath: shape.path)[.size] as? Int) ?? 0
            print("| \(shape.label) | \(format(Double(size) / 1e6, 1)) MB | \(format(seconds, 2)) s | \(format(Double(ticks) / seconds / 1e6, 2)) M |")
        }
        if let plain = readSeconds["ISO-8601 t"], let packed = readSeconds["ISO-8601 t, gzip"] {
            print("gzip over the plain file, reading: \(format((packed / plain - 1) * 100, 0)) %")
        }
        print("")
        print("| file | ticks | read and check | replay (--speed max) | ticks/s replayed | ticks/s from start |")
        print("|---|---|---|---|---|---|")
        for shape in shapes {
            for _ in 0..<runs { try await replay(shape, bin: bin, directory: directory) }
        }
    }

    private func read(_ shape: Shape) -> ReplayData? {
        var options = ReplayOptions()
        if let index = shape.arguments.firstIndex(of: "--time-format") { options.timePattern = try? TimePattern(shape.arguments[index + 1]) }
        return try? ReplayData(paths: [shape.path], options: options, maxSymbols: symbols * 10, now: Date().timeIntervalSince1970)
    }

    private func makeFiles(in directory: String) throws -> [Shape] {
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let unix = Shape(label: "Unix seconds t", path: "\(directory)/unix.csv")
        let iso = Shape(label: "ISO-8601 t", path: "\(directory)/iso.csv")
        let monthName = Shape(label: "month names t", path: "\(directory)/month.csv")
        let pattern = Shape(label: "--time-format t", path: "\(directory)/pattern.csv", arguments: ["--time-format", "%d/%m/%Y %H:%M:%S.%f"])
        let wide = Shape(label: "wide, 10 value columns", path: "\(directory)/wide.csv", valuesPerRow: 10)
        let packed = Shape(label: "ISO-8601 t, gzip", path: "\(directory)/iso.csv.gz")
        try write(unix.path, header: "t,symbol,price,volume", rows: rows) { t, _ in "\(RandomWalk.milliseconds(t))" }
        try write(iso.path, header: "t,symbol,price,volume", rows: rows) { _, c in
            "\(c.year)-\(pad(c.month))-\(pad(c.day))T\(pad(c.hour)):\(pad(c.minute)):\(pad(c.second)).\(pad(c.millisecond, 3))Z"
        }
        try write(monthName.path, header: "t,symbol,price,volume", rows: rows) { _, c in
            "\(months[c.month - 1]) \(c.day) \(c.year) \(pad(c.hour)):\(pad(c.minute)):\(pad(c.second)).\(pad(c.millisecond, 3))"
        }
        try write(pattern.path, header: "t,symbol,price,volume", rows: rows) { _, c in
            "\(pad(c.day))/\(pad(c.month))/\(c.year) \(pad(c.hour)):\(pad(c.minute)):\(pad(c.second)).\(pad(c.millisecond, 3))"
        }
        try writeWide(wide.path, rows: rows / 10)
        let compress = Process()
        compress.executableURL = URL(fileURLWithPath: "/bin/gzip")
        compress.arguments = ["-k", "-6", iso.path]
        try compress.run()
        compress.waitUntilExit()
        return [unix, iso, monthName, pattern, wide, packed]
    }

    private struct Civil {
        var year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, millisecond = 0
    }

    /// The date and time of Unix milliseconds (Howard Hinnant's `civil_from_days`).
    private func civil(_ milliseconds: Int) -> Civil {
        var c = Civil()
        let days = milliseconds / 86_400_000
        var rest = milliseconds % 86_400_000
        (c.hour, rest) = (rest / 3_600_000, rest % 3_600_000)
        (c.minute, rest) = (rest / 60_000, rest % 60_000)
        (c.second, c.millisecond) = (rest / 1_000, rest % 1_000)
        let z = days + 719_468
        let era = z / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        c.day = dayOfYear - (153 * mp + 2) / 5 + 1
        c.month = mp < 10 ? mp + 3 : mp - 9
        c.year = yearOfEra + era * 400 + (c.month <= 2 ? 1 : 0)
        return c
    }

    private func pad(_ value: Int, _ width: Int = 2) -> String {
        let text = String(value)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }

    /// Rows 10 ms apart from 2010-01-01, spread over the symbols.
    private func write(_ path: String, header: String, rows: Int, time: (Double, Civil) -> String) throws {
        var text = header + "\n"
        text.reserveCapacity(rows * 56)
        for row in 0..<rows {
            let milliseconds = 1_262_304_000_000 + row * 10
            text += "\(time(Double(milliseconds) / 1_000, civil(milliseconds))),S\(row % symbols),\(100 + Double(row % 997) / 100),\(row % 90 + 1)\n"
        }
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

    private func writeWide(_ path: String, rows: Int) throws {
        var text = "t," + (0..<10).map { "value\($0)" }.joined(separator: ",") + "\n"
        text.reserveCapacity(rows * 80)
        for row in 0..<rows {
            text += "\(1_262_304_000 + row)," + (0..<10).map { "\(Double((row + $0 * 37) % 997) / 100)" }.joined(separator: ",") + "\n"
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

    private func replay(_ shape: Shape, bin: String, directory: String) async throws {
        let runDirectory = "\(directory)/run"
        try? FileManager.default.createDirectory(atPath: runDirectory, withIntermediateDirectories: false)
        let started = ContinuousClock.now
        // A window over the whole file: every row stays, the worst case for the windows.
        let producer = try startProducer(
            bin: bin,
            arguments: [
                "--run-dir", runDirectory, "--replay", shape.path, "--speed", "max", "--window", "1d", "--max-symbols", "\(symbols * 10)",
                "--log-level", "warning",
            ] + shape.arguments
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
            "| \(shape.label) | \(replay.rows) | \(format(replay.readSeconds, 2)) s | \(format(pass, 2)) s | \(format(Double(replay.rows) / pass / 1e6, 2)) M "
                + "| \(format(Double(replay.rows) / total / 1e6, 2)) M |"
        )
    }
}
