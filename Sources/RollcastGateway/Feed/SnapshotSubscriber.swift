import Foundation
import Logging
import NIOCore
import RollcastCore
import ServiceLifecycle
import Synchronization
import ZeroMQ

/// Receives the producers' snapshots on a SUB socket, merges them (``SnapshotMerger``) and
/// hands each merged message to the broadcaster.
///
/// The socket connects (and reconnects) in the background, so the gateway starts before,
/// and survives restarts of, a producer or a broker. Messages that are not well-formed
/// snapshots are logged and dropped; they never reach a browser.
final class SnapshotSubscriber: Service, Sendable {
    /// Larger messages make libzmq drop the connection rather than allocate for them.
    static let maxSnapshotBytes: Int64 = 256 << 20

    private let endpoints: [String]
    private let broadcaster: SnapshotBroadcaster
    private let compress: Bool
    private let logger: Logger

    /// CURVE for a `tcp://` endpoint.
    private let curve: CurveClientSettings?
    private let forgetProducerAfter: Duration

    init(
        endpoints: [String], curve: CurveClientSettings?, forgetProducerAfter: Duration, broadcaster: SnapshotBroadcaster,
        compress: Bool, logger: Logger
    ) {
        self.curve = curve
        self.forgetProducerAfter = forgetProducerAfter
        self.endpoints = endpoints
        self.broadcaster = broadcaster
        self.compress = compress
        self.logger = logger
    }

    func run() async throws {
        let context = try ZMQContext()
        try await ServiceThread.run(name: "rollcast-subscriber", stop: context.shutdown) {
            try self.receiveLoop(context: context)
        }
    }

    private func receiveLoop(context: ZMQContext) throws {
        let socket = try ZMQSocket(context: context, type: .sub)
        defer { socket.close() }
        try socket.setMaxMessageSize(Self.maxSnapshotBytes)
        // A few snapshots of slack; older ones are worthless once a newer one exists.
        try socket.setReceiveHighWaterMark(4)
        try socket.subscribe(SnapshotHeader.topic)
        // One socket to every endpoint (two brokers): libzmq queues from each fairly, and the
        // merger drops the second copy of a snapshot (same producer, run and seq, or older).
        for endpoint in endpoints {
            try CurveLink.secure(socket, endpoint: endpoint, curve: curve)
            try socket.connect(endpoint)
            logger.info("subscribed to snapshots", metadata: ["endpoint": "\(endpoint)"])
        }
        let decoder = JSONDecoder()
        let deflater = compress ? try SnapshotDeflater() : nil
        var merger = SnapshotMerger(forgetAfter: forgetProducerAfter)
        var hidden: [String: [String]] = [:]
        let refusals = RefusalLog(logger: logger, message: "producer snapshot refused")
        while true {
            let parts: [ZMQMessage]
            do {
                // A snapshot is three parts, four with a delta; more are dropped as they are read.
                guard let received = try socket.receiveMultipart(maxParts: 4) else { continue }
                guard received.total == 3 || received.total == 4 else {
                    logger.warning("malformed snapshot message dropped", metadata: ["parts": "\(received.total)"])
                    continue
                }
                parts = received.parts
            } catch let error as ZMQError where error.isContextTerminated {
                logger.info("snapshot subscription closed")
                return
            }
            guard parts.count >= 3, let header = try? decoder.decode(SnapshotHeader.self, from: Data(parts[1].bytes)) else {
                logger.warning("malformed snapshot message dropped", metadata: ["parts": "\(parts.count)"])
                continue
            }
            let runChanged = merger.feeds[header.producer ?? ""]?.header.runID != header.runID
            // The one copy on the way through: out of libzmq's message into a shared buffer,
            // already framed as a WebSocket message (the payload is a slice of the frame).
            let received = parts[2].withUnsafeBytes { SharedFrame(text: $0) }
            let payload = received.payload
            let delta = parts.count == 4 && header.deltaBaseSeq != nil ? parts[3].withUnsafeBytes { ByteBuffer(bytes: $0) } : nil
            let merged: MergedSnapshot
            switch merger.accept(header: header, payload: payload, delta: delta, receivedAt: .now) {
            case .publish(let message): merged = message
            case .duplicate: continue
            case .refused(let reason):
                refusals.note(reason, metadata: ["producer": "\(header.producer ?? "")", "run_id": "\(header.runID)"])
                continue
            }
            if runChanged {
                logger.info("producer run detected", metadata: ["producer": "\(header.producer ?? "")", "run_id": "\(header.runID)", "seq": "\(header.seq)"])
            }
            for name in merged.forgotten {
                logger.notice("silent producer forgotten; its charts leave the message", metadata: ["producer": "\(name)"])
            }
            logConflicts(merged.sources, previous: &hidden)
            broadcaster.publish(relayed(merged, receivedAs: received, deflater: deflater))
        }
    }

    /// The message as clients get it: every frame, and its compression, made once.
    private func relayed(_ merged: MergedSnapshot, receivedAs received: SharedFrame, deflater: SnapshotDeflater?) -> RelayedSnapshot {
        let header = merged.header
        let frames = DeltaStreamFrames(header: header, payload: merged.payload, delta: merged.delta, compress: deflater != nil)
        // Made here while delta clients are connected; else by the first one that connects.
        if broadcaster.wholeDeltaClients.load(ordering: .relaxed) > 0 { frames.make(using: deflater) }
        return RelayedSnapshot(
            header: header, payload: merged.payload, fullStream: ClientFrames(merged.payload, receivedAs: received, deflater: deflater), receivedAt: .now,
            deltaStream: frames, sources: merged.sources, delta: merged.delta
        )
    }

    /// Logs when the symbols two producers claim change: once, not per snapshot.
    private func logConflicts(_ sources: [ProducerSource], previous: inout [String: [String]]) {
        let current = Dictionary(uniqueKeysWithValues: sources.filter { !$0.hiddenSymbols.isEmpty }.map { ($0.name, $0.hiddenSymbols) })
        guard current != previous else { return }
        previous = current
        for (name, symbols) in current.sorted(by: { $0.key < $1.key }) {
            logger.warning(
                "symbols claimed by several producers; each is shown from the producer whose name sorts first",
                metadata: ["hidden_from": "\(name)", "count": "\(symbols.count)", "symbols": "\(symbols.prefix(10).joined(separator: ","))"]
            )
        }
    }
}
