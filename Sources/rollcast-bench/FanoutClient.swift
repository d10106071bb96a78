import CompressNIO
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket
import Synchronization

/// What every benchmark client reports: one (client, seq, latency) per snapshot received.
final class FanoutRecorder: Sendable {
    struct Arrival {
        let client: Int
        let seq: UInt64
        let latencyMilliseconds: Double
    }

    private let arrivals = Mutex<[Arrival]>([])
    private let upgradedCount = Atomic<Int>(0)
    private let failedCount = Atomic<Int>(0)

    var upgraded: Int { upgradedCount.load(ordering: .relaxed) }
    var failed: Int { failedCount.load(ordering: .relaxed) }
    func markUpgraded() { upgradedCount.add(1, ordering: .relaxed) }
    func markFailed() { failedCount.add(1, ordering: .relaxed) }
    private let errorCount = Atomic<Int>(0)
    /// Connections that failed after the upgrade (protocol errors).
    var errors: Int { errorCount.load(ordering: .relaxed) }
    func markError() { errorCount.add(1, ordering: .relaxed) }

    func record(client: Int, seq: UInt64, latencyMilliseconds: Double) {
        arrivals.withLock { $0.append(Arrival(client: client, seq: seq, latencyMilliseconds: latencyMilliseconds)) }
    }

    func snapshot() -> [Arrival] { arrivals.withLock { $0 } }
}

/// Inflates just the start of a `permessage-deflate` message: enough to read `seq` and
/// `generated_at` without paying for the whole snapshot. One per event loop, reused.
final class HeadInflater {
    private let decompressor: ZlibDecompressor

    init() throws {
        decompressor = try ZlibDecompressor(algorithm: .deflate)
    }

    func head(of compressed: ByteBuffer, bytes: Int = 300) -> String? {
        var input = compressed
        var output = ByteBufferAllocator().buffer(capacity: bytes)
        // A full output buffer throws; what was inflated up to then is what we want.
        try? decompressor.inflate(from: &input, to: &output)
        try? decompressor.reset()
        return output.readString(length: output.readableBytes)
    }
}

extension HeadInflater {
    /// The inflater of the calling event-loop thread (every message stands alone, so one
    /// inflater serves all of a loop's connections).
    static func forCurrentThread() throws -> HeadInflater {
        if let existing = Thread.current.threadDictionary["rollcast.inflater"] as? HeadInflater { return existing }
        let inflater = try HeadInflater()
        Thread.current.threadDictionary["rollcast.inflater"] = inflater
        return inflater
    }
}

/// Reads snapshot frames on one benchmark connection and answers pings; all on the event loop.
final class SnapshotReceiver: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    let client: Int
    let recorder: FanoutRecorder
    let inflater: HeadInflater?

    init(client: Int, recorder: FanoutRecorder, inflater: HeadInflater?) {
        self.client = client
        self.recorder = recorder
        self.inflater = inflater
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .text:
            let now = Date().timeIntervalSince1970 * 1000
            // The fields come first in every chart object; 300 bytes hold them.
            let data = frame.unmaskedData
            let head: String
            if frame.rsv1, let inflater {
                head = inflater.head(of: data) ?? ""
            } else {
                head = data.getString(at: data.readerIndex, length: min(300, data.readableBytes)) ?? ""
            }
            if let seq = Self.number(after: #""seq":"#, in: head), let generated = Self.number(after: #""generated_at":"#, in: head) {
                recorder.record(client: client, seq: UInt64(seq), latencyMilliseconds: now - generated)
            }
        case .ping:
            let pong = WebSocketFrame(fin: true, opcode: .pong, maskKey: .random(), data: frame.unmaskedData)
            context.writeAndFlush(wrapOutboundOut(pong), promise: nil)
        case .connectionClose:
            context.close(promise: nil)
        default:
            break
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        recorder.markError()
        context.close(promise: nil)
    }

    static func number(after key: String, in text: String) -> Double? {
        guard let range = text.range(of: key) else { return nil }
        return Double(text[range.upperBound...].prefix { $0.isNumber || $0 == "." })
    }
}

/// Opens `count` WebSocket connections to `/ws/realtime_charts`, at most `inFlight` at a time.
/// The connections live until `group` shuts down.
func connectClients(count: Int, port: Int, group: any EventLoopGroup, recorder: FanoutRecorder, deflate: Bool, inFlight: Int = 256) async {
    await withTaskGroup(of: Void.self) { tasks in
        var next = 0
        func startOne() {
            let client = next
            next += 1
            tasks.addTask { await connectClient(client, port: port, group: group, recorder: recorder, deflate: deflate) }
        }
        while next < min(count, inFlight) { startOne() }
        for await _ in tasks where next < count { startOne() }
    }
}

private func connectClient(_ client: Int, port: Int, group: any EventLoopGroup, recorder: FanoutRecorder, deflate: Bool) async {
    do {
        let upgraded: EventLoopFuture<Bool> = try await ClientBootstrap(group: group).connect(host: "127.0.0.1", port: port) { channel in
            channel.eventLoop.makeCompletedFuture {
                let upgrader = NIOTypedWebSocketClientUpgrader<Bool>(maxFrameSize: 1 << 26) { channel, _ in
                    channel.eventLoop.makeCompletedFuture {
                        let inflater = deflate ? try HeadInflater.forCurrentThread() : nil
                        try channel.pipeline.syncOperations.addHandler(SnapshotReceiver(client: client, recorder: recorder, inflater: inflater))
                        return true
                    }
                }
                var headers = HTTPHeaders()
                headers.add(name: "Host", value: "127.0.0.1:\(port)")
                if deflate { headers.add(name: "Sec-WebSocket-Extensions", value: "permessage-deflate") }
                let configuration = NIOTypedHTTPClientUpgradeConfiguration(
                    upgradeRequestHead: HTTPRequestHead(version: .http1_1, method: .GET, uri: "/ws/realtime_charts", headers: headers),
                    upgraders: [upgrader],
                    notUpgradingCompletionHandler: { channel in channel.eventLoop.makeSucceededFuture(false) }
                )
                var pipeline = NIOUpgradableHTTPClientPipelineConfiguration(upgradeConfiguration: configuration)
                // The first snapshot can arrive in the same read as the 101 answer: keep those bytes.
                pipeline.leftOverBytesStrategy = .forwardBytes
                return try channel.pipeline.syncOperations.configureUpgradableHTTPClientPipeline(configuration: pipeline)
            }
        }
        if try await upgraded.get() { recorder.markUpgraded() } else { recorder.markFailed() }
    } catch {
        recorder.markFailed()
    }
}
