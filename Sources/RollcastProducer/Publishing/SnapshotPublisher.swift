import Foundation
import Logging
import RollcastCore
import ServiceLifecycle
import ZeroMQ

/// Builds one full snapshot per interval, encodes it once and publishes it on a PUB socket.
///
/// Each ZeroMQ message has three parts: the topic ``SnapshotHeader/topic``, the JSON
/// ``SnapshotHeader``, and the JSON array of chart objects that browsers receive as is; and
/// from a run's second snapshot on a fourth, the delta from the snapshot before
/// (``SnapshotDelta``), for clients of the delta stream.
final class SnapshotPublisher: Service, Sendable {
    private let store: WindowStore
    private let publishing: PublishingSocket
    private let interval: Double
    private let intervalMilliseconds: Int64
    private let name: String
    private let control: ControlAddress?
    private let logger: Logger
    let signal = WakeSignal()
    static let firstSnapshotDelay = 0.25

    private let files: SocketFileWatch
    private let onLost: @Sendable (String) -> Void

    /// - Parameters:
    ///   - files: the producer's socket files, checked before each snapshot.
    ///   - onLost: called once when one of them is gone or replaced.
    init(
        store: WindowStore, socket: PublishingSocket, interval: Double, name: String = "", control: ControlAddress? = nil, files: SocketFileWatch,
        onLost: @escaping @Sendable (String) -> Void, logger: Logger
    ) {
        self.name = name
        self.control = control
        self.store = store
        self.publishing = socket
        self.files = files
        self.onLost = onLost
        self.interval = interval
        self.intervalMilliseconds = Int64((interval * 1000).rounded())
        self.logger = logger
    }

    func run() async throws {
        try await ServiceThread.run(name: "rollcast-publisher", stop: signal.stop) {
            try self.publishLoop()
        }
    }

    private func publishLoop() throws {
        let socket = publishing.socket
        defer { publishing.close() }
        logger.info("publishing snapshots", metadata: ["endpoint": "\(publishing.endpoint)", "interval_s": "\(interval)"])
        let encoder = SnapshotEncoder()
        let headerEncoder = JSONEncoder()
        // Subscribers already running reconnect within about 100 ms of the bind; the first
        // snapshot waits for them rather than going out to nobody (a restore from the journal
        // may have used that time already).
        if signal.wait(until: publishing.boundAt.addingTimeInterval(Self.firstSnapshotDelay)) == .stopped { return }
        var next = Date()
        var lostReported = false
        // The last snapshot published, which the next one's delta is taken against.
        var previous: (seq: UInt64, series: [SeriesSnapshot])?
        while true {
            if !lostReported, let lost = files.lost() {
                lostReported = true
                onLost("its socket file \(lost.path) was removed or replaced (the run directory deleted, or another producer bound over it)")
            }
            let now = Date()
            let clock = ContinuousClock()
            let buildStarted = clock.now
            let (seq, series) = store.takeSnapshot()
            store.metrics.snapshotBuild.record(buildStarted.duration(to: clock.now).seconds)
            let header = SnapshotHeader(
                seq: seq,
                runID: store.runID,
                generatedAt: Int64((now.timeIntervalSince1970 * 1000).rounded()),
                intervalMilliseconds: intervalMilliseconds,
                charts: series.count,
                deltaBaseSeq: previous?.seq,
                producer: name.isEmpty ? nil : name,
                control: control
            )
            let encodeStarted = clock.now
            let payload = encoder.encode(series, header: header, windowSeconds: store.windowSeconds)
            // The delta stream's message, against the snapshot before (none for a run's first).
            let delta = previous.map { previous in
                encoder.encodeDelta(SnapshotDelta.between(previous.series, series), header: header, baseSeq: previous.seq, windowSeconds: store.windowSeconds)
            }
            previous = (seq, series)
            store.metrics.snapshotEncode.record(encodeStarted.duration(to: clock.now).seconds)
            // PUB never blocks: at the high-water mark a slow subscriber misses a snapshot,
            // and the next full one replaces it.
            var parts = [Array(SnapshotHeader.topic.utf8), Array(try headerEncoder.encode(header)), payload]
            if let delta { parts.append(delta) }
            try socket.send(parts: parts)
            store.metrics.recordSnapshot(bytes: payload.count)
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

/// The PUB socket, bound when the producer starts and before it reads its journal back, so
/// that gateways reconnect while the windows are rebuilt.
final class PublishingSocket: @unchecked Sendable {
    // Safe to share: made on the starting thread, then used only by the publisher's thread;
    // starting that thread is the full memory barrier libzmq asks for when a socket moves.
    let endpoint: String
    let socket: ZMQSocket
    let binding: BoundEndpoint
    let boundAt: Date

    /// - Throws: ``IPCEndpoint/InUseError`` when a live producer already publishes there.
    /// Snapshots libzmq queues per subscriber; past it a slow or stalled subscriber misses
    /// snapshots (the next full one replaces them) and the producer's memory stays flat.
    static let queuedSnapshots: Int32 = 2

    /// - Parameter brokers: publish into these brokers (connecting to each: every snapshot goes
    ///   to every one) instead of binding `endpoint`.
    init(
        endpoint: String, brokers: [String] = [], watch: SocketFileWatch, curve: CurveServerSettings?, brokerCurve: CurveClientSettings? = nil,
        logger: Logger
    ) throws {
        self.endpoint = brokers.isEmpty ? endpoint : brokers.joined(separator: ",")
        socket = try ZMQSocket(context: try ZMQContext(), type: .pub)
        try socket.setSendHighWaterMark(Self.queuedSnapshots)
        if !brokers.isEmpty {
            // CURVE options hold for every connection made after them: with a broker key, every broker speaks CURVE.
            if brokers.contains(where: { $0.hasPrefix("tcp://") }), let brokerCurve {
                try socket.makeCurveClient(keyPair: brokerCurve.keyPair, serverKey: brokerCurve.serverKey)
            }
            for broker in brokers { try socket.connect(broker) }
            binding = BoundEndpoint(file: nil, zap: nil)
        } else {
            binding = try IPCEndpoint.bind(socket, to: endpoint, watch: watch, curve: curve, logger: logger)
        }
        boundAt = Date()
    }

    /// Closes the socket and removes its socket file (if it is still this process's).
    func close() {
        socket.close()
        binding.release()
    }
}
