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

/// Plays a ``ReplayFile`` into the windows on the producer's replay clock.
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

    private let file: ReplayFile
    private let store: WindowStore
    private let speed: ReplaySpeed
    private let loop: Bool
    private let logger: Logger
    private let signal = WakeSignal()
    private let progress = Mutex(ReplayStatus())

    init(file: ReplayFile, readSeconds: Double, store: WindowStore, speed: ReplaySpeed, loop: Bool, logger: Logger) {
        self.file = file
        self.store = store
        self.speed = speed
        self.loop = loop
        self.logger = logger
        progress.withLock { status in
            status.file = file.path
            status.rows = file.rows
            status.skippedRows = file.skipped
            status.speed = speed.description
            status.loop = loop
            status.readSeconds = readSeconds
        }
        store.clock.set(file.times[0])
    }

    var status: ReplayStatus { progress.withLock { $0 } }

    func run() async throws {
        try await ServiceThread.run(name: "rollcast-replay", stop: signal.stop) {
            self.play()
        }
    }

    private func play() {
        logger.info("replay started", metadata: ["file": "\(file.path)", "rows": "\(file.rows)", "symbols": "\(file.symbols.count)", "speed": "\(speed)"])
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
                    "file": "\(file.path)", "rows": "\(file.rows)", "skipped_rows": "\(file.skipped)", "seconds": "\(String(format: "%.3f", seconds))",
                    "rows_per_s": "\(Int(Double(file.rows) / max(seconds, 1e-9)))", "loops": "\(loops)",
                ]
            )
            guard loop else {
                // The last windows stay; the thread waits to be stopped (Foundation's condition
                // traps on .distantFuture on Linux, so an hour at a time).
                while signal.wait(until: Date().addingTimeInterval(3_600)) != .stopped {}
                return
            }
            store.clearWindows()
            store.clock.set(file.times[0])
            progress.withLock { $0.applied = 0 }
        }
    }

    /// Plays the file once; `false` when stopped on the way.
    private func playOnce(startedAt started: Date) -> Bool {
        let first = file.times[0]
        let last = file.times[file.rows - 1]
        var position = 0
        while position < file.rows {
            let target: Double
            switch speed {
            case .max: target = .infinity
            case .times(let factor): target = first + Date().timeIntervalSince(started) * factor
            }
            var end = position
            while end < file.rows, end - position < Self.rowsPerStep, file.times[end] <= target { end += 1 }
            if end > position {
                apply(position..<end)
                position = end
            }
            switch speed {
            case .max:
                store.clock.set(file.times[position - 1])
            case .times(let factor):
                store.clock.set(min(target, last))
                guard position < file.rows, file.times[position] > target else { continue }
                // Sleep until the next row is due; at most a second, so a stop is never kept waiting.
                let due = started.addingTimeInterval((file.times[position] - first) / factor)
                if signal.wait(until: min(due, Date().addingTimeInterval(1))) == .stopped { return false }
            }
            if case .max = speed, signal.isStopped { return false }
        }
        store.clock.set(last)
        return true
    }

    private func apply(_ rows: Range<Int>) {
        let ticks = rows.map { row in
            IncomingTick(symbol: file.symbols[Int(file.symbolIndex[row])], t: file.times[row], price: file.prices[row], volume: file.volumes[row])
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
