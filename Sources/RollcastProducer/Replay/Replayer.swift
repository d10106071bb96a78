import Foundation
import Logging
import RollcastCore
import ServiceLifecycle
import Synchronization
import ZeroMQ

/// How fast a file is replayed: N times its own pace, or as fast as the windows take it.
public enum ReplaySpeed: Sendable, Equatable, CustomStringConvertible {
    case times(Double)
    case max

    /// `max`, or a number above 0.
    public init?(_ text: String) {
        if text.lowercased() == "max" {
            self = .max
        } else if let factor = Double(text), factor > 0, factor.isFinite {
            self = .times(factor)
        } else {
            return nil
        }
    }

    public var description: String {
        switch self {
        case .max: "max"
        case .times(let factor): JSONNumberWriter.string(factor)
        }
    }
}

/// Plays ``ReplayData`` into the windows on the producer's replay clock.
///
/// The clock starts at the file's first time and runs at `speed` times the wall clock (at
/// `max` it is the time of the last row applied); each row goes into the windows when the
/// clock reaches it, so the windows (length `--window`) are measured on the file's time and
/// the charts show the file's timestamps. Snapshots still go out every interval of wall time.
/// At the end the clock stops at the last row, so the last windows stay on screen; with `loop`
/// the windows are emptied and the file starts again.
final class Replayer: Service, Sendable {
    /// Rows applied under one lock of the windows: a snapshot waits for at most this many.
    static let rowsPerStep = 20_000

    private let data: ReplayData
    private let store: WindowStore
    private let speed: ReplaySpeed
    private let loop: Bool
    private let logger: Logger
    private let signal = WakeSignal()
    private let progress = Mutex(ReplayStatus())

    init(data: ReplayData, readSeconds: Double, store: WindowStore, speed: ReplaySpeed, loop: Bool, logger: Logger) {
        self.data = data
        self.store = store
        self.speed = speed
        self.loop = loop
        self.logger = logger
        progress.withLock { status in
            status.file = data.paths[0]
            status.files = data.paths
            status.rows = data.ticks
            status.skippedRows = data.skipped
            status.speed = speed.description
            status.loop = loop
            status.readSeconds = readSeconds
        }
        store.clock.set(data.rows.times[0])
    }

    var status: ReplayStatus { progress.withLock { $0 } }

    func run() async throws {
        try await ServiceThread.run(name: "rollcast-replay", stop: signal.stop) {
            self.play()
        }
    }

    private func play() {
        logger.info("replay started", metadata: ["files": "\(data.paths.joined(separator: ","))", "ticks": "\(data.ticks)", "symbols": "\(data.symbols.count)", "speed": "\(speed)"])
        while true {
            let started = Date()
            guard playOnce(startedAt: started) else { return }
            let seconds = Date().timeIntervalSince(started)
            let loops = progress.withLock { status in
                status.finished = true
                status.loops += 1
                status.passSeconds = seconds
                return status.loops
            }
            logger.info(
                "replay finished",
                metadata: [
                    "files": "\(data.paths.joined(separator: ","))", "ticks": "\(data.ticks)", "skipped_rows": "\(data.skipped)",
                    "seconds": "\(String(format: "%.3f", seconds))", "ticks_per_s": "\(Int(Double(data.ticks) / max(seconds, 1e-9)))", "loops": "\(loops)",
                ]
            )
            guard loop else {
                // The last windows stay; the thread waits to be stopped (Foundation's condition
                // traps on .distantFuture on Linux, so an hour at a time).
                while signal.wait(until: Date().addingTimeInterval(3_600)) != .stopped {}
                return
            }
            store.clearWindows()
            store.clock.set(data.rows.times[0])
            progress.withLock { $0.applied = 0 }
        }
    }

    /// Plays the file once; `false` when stopped on the way.
    private func playOnce(startedAt started: Date) -> Bool {
        let rows = data.rows
        let first = rows.times[0]
        let last = rows.times[rows.count - 1]
        var position = 0
        while position < rows.count {
            let target: Double
            switch speed {
            case .max: target = .infinity
            case .times(let factor): target = first + Date().timeIntervalSince(started) * factor
            }
            var end = position
            while end < rows.count, end - position < Self.rowsPerStep, rows.times[end] <= target { end += 1 }
            if end > position {
                apply(position..<end)
                position = end
            }
            switch speed {
            case .max:
                store.clock.set(rows.times[position - 1])
            case .times(let factor):
                store.clock.set(min(target, last))
                guard position < rows.count, rows.times[position] > target else { continue }
                // Sleep until the next row is due; at most a second, so a stop is never kept waiting.
                let due = started.addingTimeInterval((rows.times[position] - first) / factor)
                if signal.wait(until: min(due, Date().addingTimeInterval(1))) == .stopped { return false }
            }
            if case .max = speed, signal.isStopped { return false }
        }
        store.clock.set(last)
        return true
    }

    private func apply(_ rows: Range<Int>) {
        let source = data.rows
        let ticks = rows.map { row in
            IncomingTick(symbol: source.symbols[Int(source.symbolIndex[row])], t: source.times[row], price: source.prices[row], volume: source.volumes[row])
        }
        do {
            _ = try store.ingest(ticks)
        } catch {
            // The file was checked against the symbol limit; only symbols loaded meanwhile can fill it.
            logger.error("replayed rows refused", metadata: ["reason": "\(error)", "rows": "\(rows.count)"])
        }
        progress.withLock { $0.applied += rows.count }
    }
}
