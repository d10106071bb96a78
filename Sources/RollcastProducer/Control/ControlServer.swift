import Dispatch
import Foundation
import Logging
import RollcastCore
import ServiceLifecycle
import Synchronization
import ZeroMQ

/// Answers control commands on a ROUTER socket, on a thread of its own.
///
/// Quick commands (ingest, publish, status) are answered in arrival order on the socket's
/// thread. Loading mock data generates up to a million ticks, so it runs on a queue of its
/// own and its answer is handed back through ``PollWakeup``: the socket keeps answering
/// other commands meanwhile. A ROUTER can answer out of order because each request carries
/// its return envelope (REQ clients and the gateway's DEALER both speak it).
final class ControlServer: Service, Sendable {
    /// Larger requests make libzmq drop the sender rather than allocate for them.
    static let maxRequestBytes: Int64 = 4 << 20
    /// Most parts of a control message: a DEALER's routing id, request id and delimiter, or a
    /// REQ's routing id and delimiter, then one or two parts of command.
    static let maxParts = 6
    /// Mock loads waiting or running at once; past it a load is refused as busy.
    static let maxPendingLoads = 4

    private let endpoint: String
    private let curve: CurveServerSettings?
    private let handler: ControlHandler
    private let files: SocketFileWatch
    private let logger: Logger
    private let loads = DispatchQueue(label: "rollcast.mock-loads")
    private let pendingLoads = Atomic<Int>(0)
    private let refusals: RefusalLog

    init(endpoint: String, curve: CurveServerSettings? = nil, handler: ControlHandler, files: SocketFileWatch, logger: Logger) {
        self.endpoint = endpoint
        self.curve = curve
        self.files = files
        self.handler = handler
        self.logger = logger
        self.refusals = RefusalLog(logger: logger, message: "control command refused")
    }

    func run() async throws {
        let context = try ZMQContext()
        // Shutting the context down makes the blocked poll return ETERM.
        try await ServiceThread.run(name: "rollcast-control", stop: context.shutdown) {
            try self.serve(context: context)
        }
    }

    /// A reply to send, with the envelope that routes it back to its client.
    private struct Outgoing: Sendable {
        let envelope: [[UInt8]]
        let reply: ControlReply
    }

    private func serve(context: ZMQContext) throws {
        let socket = try ZMQSocket(context: context, type: .router)
        try socket.setMaxMessageSize(Self.maxRequestBytes)
        let binding = try IPCEndpoint.bind(socket, to: endpoint, watch: files, curve: curve, logger: logger)
        defer {
            socket.close()
            binding.release()
        }
        logger.info("control socket ready", metadata: ["endpoint": "\(endpoint)"])
        let wakeup = try PollWakeup()
        let outbox = Mutex<[Outgoing]>([])
        func send(_ outgoing: Outgoing) throws {
            // A client that went away is dropped by the ROUTER without an error.
            _ = try socket.send(parts: outgoing.envelope + [try outgoing.reply.encoded()], dontWait: true)
        }
        /// Answers a message that holds no command it could read, so that no client waits for
        /// nothing: through its envelope when it has one, else to its routing id alone.
        func refuse(_ parts: [ZMQMessage], _ reason: String) throws {
            handler.store.metrics.countControl(command: "malformed", outcome: "refused")
            refusals.note(reason)
            guard let routingID = parts.first else { return }
            let envelope = parts.firstIndex(where: { $0.count == 0 }).map { parts[...$0].map(\.bytes) } ?? [routingID.bytes]
            try send(Outgoing(envelope: envelope, reply: ControlReply(refusal: .invalid(reason))))
        }
        do {
            while true {
                let readable = try ZMQPoll.readable([.socket(socket), .fileDescriptor(wakeup.fileDescriptor)], timeoutMilliseconds: -1)
                if readable[1] {
                    wakeup.drain()
                    for outgoing in outbox.withLock({ outbox in defer { outbox.removeAll() }; return outbox }) { try send(outgoing) }
                }
                guard readable[0] else { continue }
                while let received = try socket.receiveMultipart(dontWait: true, maxParts: Self.maxParts) {
                    // Parts past the limit were dropped as they were read: a message of a hundred
                    // 4 MiB parts costs one part's memory, not 400 MB.
                    let parts = received.parts
                    guard received.total <= Self.maxParts else {
                        try refuse(parts, "a control message of \(received.total) parts was dropped; at most \(Self.maxParts)")
                        continue
                    }
                    // The envelope is everything up to and including the first empty part.
                    guard let delimiter = parts.firstIndex(where: { $0.count == 0 }), delimiter + 1 < parts.count else {
                        try refuse(parts, "a control message is an envelope ending in an empty part, then the command; this one has no command after an empty part")
                        continue
                    }
                    let envelope = parts[...delimiter].map(\.bytes)
                    let body = Array(parts[(delimiter + 1)...])
                    let head: ControlRequest.Head
                    let request: ControlRequest
                    do throws(RequestError) {
                        head = try ControlRequest.head(body[0].bytes, parts: body.count)
                        request = try head.request()
                    } catch {
                        handler.store.metrics.countControl(command: "malformed", outcome: "refused")
                        let reply = ControlReply(refusal: error)
                        log(reply)
                        try send(Outgoing(envelope: envelope, reply: reply))
                        continue
                    }
                    if head.isIngest {
                        // The batch is read where it lies, as the ingest socket reads its batches.
                        let reply = body[1].withUnsafeBytes { handler.replyToIngest($0) }
                        log(reply)
                        try send(Outgoing(envelope: envelope, reply: reply))
                    } else if case .loadMockData = request {
                        startLoad(request, envelope: envelope) { outgoing in
                            outbox.withLock { $0.append(outgoing) }
                            wakeup.signal()
                        }
                    } else {
                        let reply = handler.reply(to: request)
                        log(reply)
                        try send(Outgoing(envelope: envelope, reply: reply))
                    }
                }
            }
        } catch let error as ZMQError where error.isContextTerminated {
            logger.info("control socket closed")
        }
    }

    /// Runs a mock load off the socket's thread; `done` hands its answer back.
    private func startLoad(_ request: ControlRequest, envelope: [[UInt8]], done: @escaping @Sendable (Outgoing) -> Void) {
        guard pendingLoads.add(1, ordering: .relaxed).newValue <= Self.maxPendingLoads else {
            pendingLoads.subtract(1, ordering: .relaxed)
            done(Outgoing(envelope: envelope, reply: ControlReply(refusal: .unavailable("\(Self.maxPendingLoads) mock data loads are waiting already; try again"))))
            return
        }
        loads.async {
            defer { self.pendingLoads.subtract(1, ordering: .relaxed) }
            let reply = self.handler.reply(to: request)
            self.log(reply)
            done(Outgoing(envelope: envelope, reply: reply))
        }
    }

    private func log(_ reply: ControlReply) {
        if let error = reply.error {
            refusals.note(error)
        } else if let ingested = reply.ingested {
            logger.debug("ticks ingested", metadata: ["appended": "\(ingested.appended)", "new_symbols": "\(ingested.newSymbols.count)"])
        } else if let loaded = reply.loaded {
            logger.info(
                "mock data loaded", metadata: ["symbols": "\(loaded.symbols.count)", "points": "\(loaded.points)", "seed": "\(loaded.seed)"]
            )
        } else {
            logger.debug("control command answered")
        }
    }
}
