import Foundation
import Logging
import RollcastCore
import ServiceLifecycle
import ZeroMQ

/// Builds one full snapshot per interval, encodes it once and publishes it on a PUB socket.
///
/// Each ZeroMQ message has three parts: the topic ``SnapshotHeader/topic``, the JSON
/// ``SnapshotHeader``, and the JSON array of chart objects that browsers receive as is.
final class SnapshotPublisher: Service, Sendable {
    private let store: WindowStore
    private let endpoint: String
    private let interval: Double
    private let intervalMilliseconds: Int64
    private let logger: Logger
    let signal = WakeSignal()
    static let firstSnapshotDelay = 0.25

    init(store: WindowStore, endpoint: String, interval: Double, logger: Logger) {
        self.store = store
        self.endpoint = endpoint
        self.interval = interval
        self.intervalMilliseconds = Int64((interval * 1000).rounded())
        self.logger = logger
    }

    func run() async throws {
        let context = try ZMQContext()
        try await withGracefulShutdownHandler {
            try await DedicatedThread.run(name: "rollcast-publisher", onCancel: signal.stop) {
                try self.publishLoop(context: context)
            }
        } onGracefulShutdown: {
            self.signal.stop()
        }
    }

    private func publishLoop(context: ZMQContext) throws {
        let socket = try ZMQSocket(context: context, type: .pub)
        try IPCEndpoint.claim(endpoint)
        try socket.bind(endpoint)
        defer {
            socket.close()
            IPCEndpoint.release(endpoint)
        }
        logger.info("publishing snapshots", metadata: ["endpoint": "\(endpoint)", "interval_s": "\(interval)"])
        let encoder = SnapshotEncoder()
        let headerEncoder = JSONEncoder()
        // Subscribers already running reconnect within about 100 ms of the bind; the first
        // snapshot waits for them rather than going out to nobody.
        if signal.wait(until: Date().addingTimeInterval(Self.firstSnapshotDelay)) == .stopped { return }
        var next = Date()
        while true {
            let now = Date()
            let (seq, series) = store.takeSnapshot()
            let header = SnapshotHeader(
                seq: seq,
                runID: store.runID,
                generatedAt: Int64((now.timeIntervalSince1970 * 1000).rounded()),
                intervalMilliseconds: intervalMilliseconds,
                charts: series.count
            )
            let payload = encoder.encode(series, header: header, windowSeconds: store.windowSeconds)
            // PUB never blocks: at the high-water mark a slow subscriber misses a snapshot,
            // and the next full one replaces it.
            try socket.send(parts: [Array(SnapshotHeader.topic.utf8), Array(try headerEncoder.encode(header)), payload])
            logger.debug("snapshot published", metadata: ["seq": "\(seq)", "charts": "\(series.count)", "bytes": "\(payload.count)"])

            next = next.addingTimeInterval(interval)
            if next < Date() { next = Date().addingTimeInterval(interval) }
            switch signal.wait(until: next) {
            case .deadline: continue
            case .requested: next = Date()
            case .stopped:
                logger.info("publisher stopped", metadata: ["last_seq": "\(seq)"])
                return
            }
        }
    }
}
