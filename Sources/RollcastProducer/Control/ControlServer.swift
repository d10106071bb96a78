import Foundation
import Logging
import RollcastCore
import ServiceLifecycle
import ZeroMQ

/// Answers control commands on a REP socket, one at a time, on a thread of its own.
final class ControlServer: Service, Sendable {
    /// Larger requests make libzmq drop the sender rather than allocate for them.
    static let maxRequestBytes: Int64 = 4 << 20

    private let endpoint: String
    private let handler: ControlHandler
    private let logger: Logger

    init(endpoint: String, handler: ControlHandler, logger: Logger) {
        self.endpoint = endpoint
        self.handler = handler
        self.logger = logger
    }

    func run() async throws {
        let context = try ZMQContext()
        try await withGracefulShutdownHandler {
            try await DedicatedThread.run(name: "rollcast-control", onCancel: context.shutdown) {
                try self.serve(context: context)
            }
        } onGracefulShutdown: {
            // Makes the blocked receive return ETERM.
            context.shutdown()
        }
    }

    private func serve(context: ZMQContext) throws {
        let socket = try ZMQSocket(context: context, type: .rep)
        try socket.setMaxMessageSize(Self.maxRequestBytes)
        try IPCEndpoint.claim(endpoint)
        try socket.bind(endpoint)
        defer {
            socket.close()
            IPCEndpoint.release(endpoint)
        }
        logger.info("control socket ready", metadata: ["endpoint": "\(endpoint)"])
        let encoder = JSONEncoder()
        while true {
            let parts: [ZMQMessage]
            do {
                guard let received = try socket.receiveMultipart() else { continue }
                parts = received
            } catch let error as ZMQError where error.isContextTerminated {
                logger.info("control socket closed")
                return
            }
            // A request is one JSON part; anything else is answered, never trusted.
            let reply = handler.handle(parts.map(\.bytes))
            if let error = reply.error {
                logger.warning("control command refused", metadata: ["reason": "\(error)"])
            } else if let ingested = reply.ingested {
                logger.debug("ticks ingested", metadata: ["appended": "\(ingested.appended)", "new_symbols": "\(ingested.newSymbols.count)"])
            } else if let loaded = reply.loaded {
                logger.info("mock data loaded", metadata: ["symbols": "\(loaded.symbols.joined(separator: ","))", "points": "\(loaded.points)", "seed": "\(loaded.seed)"])
            } else {
                logger.debug("status answered")
            }
            do {
                try socket.send(Array(try encoder.encode(reply)))
            } catch let error as ZMQError where error.isContextTerminated {
                return
            }
        }
    }
}
