import Foundation
import Logging
import RollcastCore
import ServiceLifecycle
import ZeroMQ

/// The door for feed handlers: a PULL socket where one message is one batch, with exactly
/// the JSON of `POST /api/ingest`.
///
/// A batch that is applied is acknowledged by being applied (and durable, with persistence
/// on); there is no reply. A malformed or refused batch is counted and logged (at most one
/// line a second) and never affects another. The receive queue holds at most
/// ``receiveQueue`` messages of at most ``maxMessageBytes`` each; past it the pusher's
/// sends block (ZeroMQ's PUSH waits at its high-water mark), so a fast feed is slowed, not
/// dropped.
final class IngestSocket: Service, Sendable {
    static let receiveQueue: Int32 = 64
    /// As for `POST /api/ingest`. A larger message makes libzmq drop the connection (the
    /// pusher reconnects; that batch is lost and cannot be counted).
    static let maxMessageBytes: Int64 = 1 << 20

    private let endpoint: String
    private let curve: CurveServerSettings?
    private let pipeline: IngestPipeline
    private let files: SocketFileWatch
    private let logger: Logger

    init(endpoint: String, curve: CurveServerSettings? = nil, pipeline: IngestPipeline, files: SocketFileWatch, logger: Logger) {
        self.endpoint = endpoint
        self.curve = curve
        self.files = files
        self.pipeline = pipeline
        self.logger = logger
    }

    func run() async throws {
        let context = try ZMQContext()
        try await ServiceThread.run(name: "rollcast-ingest", stop: context.shutdown) {
            try self.receiveLoop(context: context)
        }
    }

    private func receiveLoop(context: ZMQContext) throws {
        let socket = try ZMQSocket(context: context, type: .pull)
        try socket.setReceiveHighWaterMark(Self.receiveQueue)
        try socket.setMaxMessageSize(Self.maxMessageBytes)
        let binding = try IPCEndpoint.bind(socket, to: endpoint, watch: files, curve: curve, logger: logger)
        defer {
            socket.close()
            binding.release()
        }
        logger.info("ingest socket ready", metadata: ["endpoint": "\(endpoint)"])
        let refusals = RefusalLog(logger: logger, message: "ingest batch refused")
        while true {
            let parts: [ZMQMessage]
            do {
                // Only the first part is kept: extra parts are dropped as they are read.
                guard let received = try socket.receiveMultipart(maxParts: 1) else { continue }
                guard received.total == 1 else {
                    pipeline.countRefusal(.invalid("a batch is one message part, not \(received.total)"), from: .socket)
                    refusals.note("a batch is one message part, not \(received.total)")
                    continue
                }
                parts = received.parts
            } catch let error as ZMQError where error.isContextTerminated {
                refusals.flush()
                logger.info("ingest socket closed")
                return
            }
            do throws(RequestError) {
                _ = try parts[0].withUnsafeBytes { bytes in
                    Result { () throws(RequestError) in try pipeline.ingest(bytes, from: .socket) }
                }.get()
            } catch {
                refusals.note(error.description)
            }
        }
    }
}
