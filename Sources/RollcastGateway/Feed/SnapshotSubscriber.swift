import Foundation
import Logging
import NIOCore
import RollcastCore
import ServiceLifecycle
import ZeroMQ

/// Receives the producer's snapshots on a SUB socket and hands them to the broadcaster.
///
/// The socket connects (and reconnects) in the background, so the gateway starts before,
/// and survives restarts of, the producer. Messages that are not well-formed snapshots
/// are logged and dropped; they never reach a browser.
final class SnapshotSubscriber: Service, Sendable {
    /// Larger messages make libzmq drop the connection rather than allocate for them.
    static let maxSnapshotBytes: Int64 = 256 << 20

    private let endpoint: String
    private let broadcaster: SnapshotBroadcaster
    private let compress: Bool
    private let logger: Logger

    /// CURVE for a `tcp://` endpoint.
    private let curve: CurveClientSettings?

    init(endpoint: String, curve: CurveClientSettings? = nil, broadcaster: SnapshotBroadcaster, compress: Bool, logger: Logger) {
        self.curve = curve
        self.endpoint = endpoint
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
        try CurveLink.secure(socket, endpoint: endpoint, curve: curve)
        try socket.connect(endpoint)
        logger.info("subscribed to snapshots", metadata: ["endpoint": "\(endpoint)"])
        let decoder = JSONDecoder()
        let deflater = compress ? try SnapshotDeflater() : nil
        var lastRun: String?
        var lastSeq: UInt64 = 0
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
            if header.runID != lastRun {
                logger.info("producer run detected", metadata: ["run_id": "\(header.runID)", "seq": "\(header.seq)"])
                lastRun = header.runID
            } else if header.seq <= lastSeq {
                // A broker's cached copy of a snapshot held already (it resends its cache
                // whenever a gateway subscribes): relaying it again would tell clients nothing.
                continue
            }
            lastSeq = header.seq
            // The one copy on the way through: out of libzmq's message into a shared buffer.
            let payload = parts[2].withUnsafeBytes { ByteBuffer(bytes: $0) }
            let delta = parts.count == 4 && header.deltaBaseSeq != nil ? parts[3].withUnsafeBytes { ByteBuffer(bytes: $0) } : nil
            var frames = DeltaStreamFrames(full: DeltaStreamFrames.fullMessage(header: header, payload: payload), delta: delta, baseSeq: header.deltaBaseSeq)
            // Compressed once per kind, and only while some delta client may want it.
            if let deflater, broadcaster.metrics.deltaClients.value > 0 {
                frames.fullDeflated = deflater.deflate(frames.full)
                frames.deltaDeflated = delta.flatMap { deflater.deflate($0) }
            }
            broadcaster.publish(
                RelayedSnapshot(header: header, payload: payload, deflated: deflater?.deflate(payload), receivedAt: .now, deltaStream: frames)
            )
        }
    }
}
