import ArgumentParser
import RollcastCore
import RollcastProducer

/// Ticks appended per second, and snapshot build + encode time for a few sizes, comparing
/// the direct UTF-8 writer with Foundation's JSONEncoder in the same run.
struct WindowsBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "windows", abstract: "Rolling windows, downsampling and snapshot encoding, in process.")

    @Option(help: "Runs per figure; the median is printed.")
    var runs = 5

    func run() throws {
        appendRate()
        print("")
        print("| snapshot | points sent | JSON | build | direct encode | MB/s | JSONEncoder | MB/s | speed-up |")
        print("|---|---|---|---|---|---|---|---|---|")
        for (symbols, points, window) in [(20, 300, 300), (100, 600, 600), (1_000, 1_000, 3_000)] {
            encode(symbols: symbols, maxPoints: points, windowPoints: window)
        }
    }

    /// One tick per symbol per step across 1,000 symbols, windows evicting as they go.
    func appendRate() {
        let symbols = 1_000
        let steps = 2_000
        var windows = (0..<symbols).map { _ in RollingWindow(length: 300) }
        let seconds = median(runs: runs) {
            for step in 0..<steps {
                let time = Double(step) * 0.25
                for index in 0..<symbols {
                    windows[index].append(Tick(time: time, price: 100 + Double(step % 50), volume: 1), now: time)
                }
            }
        }
        let ticks = Double(symbols * steps)
        print("append: \(symbols) symbols × \(steps) ticks (windows of 1,200 after warm-up): \(format(ticks / seconds / 1e6, 2)) M ticks/s")
    }

    func encode(symbols: Int, maxPoints: Int, windowPoints: Int) {
        var generator = SplitMix64(seed: 1)
        let now = 1_795_000_000.0
        let windows: [RollingWindow] = (0..<symbols).map { index in
            var walk = RandomWalk(symbol: "S\(index)", seed: 1)
            var window = RollingWindow(length: Double(windowPoints))
            window.replace(with: walk.history(count: windowPoints, endingAt: now, span: Double(windowPoints)), now: now)
            _ = generator.next()
            return window
        }
        let header = SnapshotHeader(seq: 1, runID: "bench", generatedAt: 1_795_000_000_000, intervalMilliseconds: 1000, charts: symbols)
        var series: [SeriesSnapshot] = []
        let build = median(runs: runs) {
            series = windows.enumerated().map { index, window in
                SeriesSnapshot(symbol: "S\(index)", ticks: Downsampler.minMax(window.ticks, maxPoints: maxPoints, span: Double(windowPoints), now: now), rawCount: window.count)
            }
        }
        let encoder = SnapshotEncoder()
        var bytes = 0
        let direct = median(runs: runs) { bytes = encoder.encode(series, header: header, windowSeconds: Double(windowPoints)).count }
        let foundation = median(runs: runs) { _ = try? encoder.encodeWithFoundation(series, header: header, windowSeconds: Double(windowPoints)) }
        let megabytes = Double(bytes) / 1e6
        let sent = series.reduce(0) { $0 + $1.ticks.count } / symbols
        print(
            "| \(symbols) × \(windowPoints) | \(sent) | \(format(megabytes, 2)) MB | \(format(build * 1000, 2)) ms | \(format(direct * 1000, 2)) ms | \(Int(megabytes / direct)) "
                + "| \(format(foundation * 1000, 2)) ms | \(Int(megabytes / foundation)) | \(format(foundation / direct, 1))× |"
        )
    }
}
