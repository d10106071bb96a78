import Foundation
import Logging
import RollcastCore
import ServiceLifecycle
import ZeroMQ

/// Between producers and gateways: producers' PUB sockets connect to its XSUB side, gateways'
/// SUB sockets to its XPUB side. It forwards every snapshot as it came (the payload is never
/// parsed; only the small header part is read) and keeps each producer's last one
/// (``SnapshotCache``), which it sends again whenever a gateway subscribes.
public struct Broker: Service {
    public struct Configuration: Sendable {
        public var producerEndpoint: String
        public var gatewayEndpoint: String
        /// A producer silent this long has its snapshot dropped from the cache.
        public var silenceLimit: Duration
        /// CURVE for `tcp://` sides: the broker's key pair, and the producers and gateways it admits.
        public var curve: CurveServerSettings?

        public init(producerEndpoint: String, gatewayEndpoint: String, silenceLimit: Duration, curve: CurveServerSettings?) {
            self.producerEndpoint = producerEndpoint
            self.gatewayEndpoint = gatewayEndpoint
            self.silenceLimit = silenceLimit
            self.curve = curve
        }
    }

    /// Larger messages make libzmq drop the producer's connection rather than allocate for them.
    static let maxSnapshotBytes: Int64 = 256 << 20
    /// Snapshots queued per gateway; past it a slow gateway misses snapshots, as with a producer's PUB.
    static let queuedPerGateway: Int32 = 2

    let configuration: Configuration
    let logger: Logger

    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    public func run() async throws {
        // A context per side: each CURVE side has its own ZAP handler, and a context has room for one.
        let producerContext = try ZMQContext()
        let gatewayContext = try ZMQContext()
        try await ServiceThread.run(name: "rollcast-broker", stop: { producerContext.shutdown(); gatewayContext.shutdown() }) {
            try self.forward(producerContext: producerContext, gatewayContext: gatewayContext)
        }
    }

    private func forward(producerContext: ZMQContext, gatewayContext: ZMQContext) throws {
        let files = SocketFileWatch()
        let producers = try ZMQSocket(context: producerContext, type: .xsub)
        try producers.setMaxMessageSize(Self.maxSnapshotBytes)
        try producers.setReceiveHighWaterMark(4)
        let producerSide = try IPCEndpoint.bind(producers, to: configuration.producerEndpoint, watch: files, curve: configuration.curve, logger: logger)
        let gateways = try ZMQSocket(context: gatewayContext, type: .xpub)
        // Every subscription comes up, not only a topic's first: each new gateway gets the cache.
        try gateways.setVerboseSubscriptions(true)
        try gateways.setSendHighWaterMark(Self.queuedPerGateway)
        let gatewaySide = try IPCEndpoint.bind(gateways, to: configuration.gatewayEndpoint, watch: files, curve: configuration.curve, logger: logger)
        defer {
            producers.close()
            gateways.close()
            producerSide.release()
            gatewaySide.release()
            logger.info("broker stopped")
        }
        // Subscribed upstream from the start, so the cache fills before any gateway comes.
        _ = try producers.send([1] + Array(SnapshotHeader.topic.utf8))
        logger.info(
            "broker ready",
            metadata: ["producers": "\(configuration.producerEndpoint)", "gateways": "\(configuration.gatewayEndpoint)"]
        )
        var cache = SnapshotCache<ZMQMessage>(silenceLimit: configuration.silenceLimit)
        let decoder = JSONDecoder()
        do {
            while true {
                let readable = try ZMQPoll.readable([.socket(producers), .socket(gateways)], timeoutMilliseconds: 1_000)
                if readable[0] {
                    while let received = try producers.receiveMultipart(dontWait: true, maxParts: 4) {
                        let parts = received.parts
                        guard received.total == 3 || received.total == 4,
                            let header = try? decoder.decode(SnapshotHeader.self, from: Data(parts[1].bytes))
                        else {
                            logger.warning("malformed snapshot message dropped", metadata: ["parts": "\(received.total)"])
                            continue
                        }
                        // Forwarded as received, bytes shared, never copied here. XPUB never
                        // blocks: a gateway past its queue misses this one.
                        _ = try gateways.send(messages: parts, dontWait: true)
                        let name = header.producer ?? header.runID
                        switch cache.record(producer: name, runID: header.runID, parts: parts, at: .now) {
                        case .newProducer: logger.info("producer seen", metadata: ["producer": "\(name)", "run_id": "\(header.runID)"])
                        case .newRun(let previous):
                            logger.info("producer restarted", metadata: ["producer": "\(name)", "run_id": "\(header.runID)", "previous_run_id": "\(previous)"])
                        case .sameRun: break
                        }
                    }
                }
                if readable[1] {
                    while let message = try gateways.receive(dontWait: true) {
                        let bytes = message.bytes
                        guard let first = bytes.first else { continue }
                        _ = try producers.send(bytes, dontWait: true)
                        // 1 is a subscription: hand the newcomer every producer's last snapshot.
                        if first == 1 {
                            let cached = cache.messages
                            for parts in cached { _ = try gateways.send(messages: parts, dontWait: true) }
                            logger.info("gateway subscribed", metadata: ["cached_snapshots_sent": "\(cached.count)"])
                        }
                    }
                }
                for name in cache.expire(now: .now) {
                    logger.warning("producer silent, its snapshot dropped", metadata: ["producer": "\(name)", "silent_s": "\(configuration.silenceLimit.components.seconds)"])
                }
                if let lost = files.lost() {
                    logger.critical("socket file removed or replaced; stopping", metadata: ["path": "\(lost.path)"])
                    throw LostSocketFile(path: lost.path)
                }
            }
        } catch let error as ZMQError where error.isContextTerminated {
            return
        }
    }

    struct LostSocketFile: Error, CustomStringConvertible {
        let path: String
        var description: String { "the broker's socket file \(path) was removed or replaced" }
    }
}
