import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket

/// A client on NIO's WebSocket upgrader and frame decoder: each message arrives whole.
func connectDecodingClient(
    _ client: Int, port: Int, group: any EventLoopGroup, recorder: FanoutRecorder, deflate: Bool, delta: Bool = false, token: String? = nil,
    bytesPerSecond: Double?
) async -> Bool {
    do {
        let upgraded: EventLoopFuture<Bool> = try await ClientBootstrap(group: group).pacedReads(bytesPerSecond != nil).connect(host: "127.0.0.1", port: port) { channel in
            channel.eventLoop.makeCompletedFuture {
                if let bytesPerSecond { try channel.pipeline.syncOperations.addHandler(ReadPacer(bytesPerSecond: bytesPerSecond)) }
                let upgrader = NIOTypedWebSocketClientUpgrader<Bool>(maxFrameSize: 1 << 26) { channel, _ in
                    channel.eventLoop.makeCompletedFuture {
                        let inflater = deflate ? try HeadInflater.forCurrentThread() : nil
                        try channel.pipeline.syncOperations.addHandler(DecodedSnapshotReceiver(client: client, recorder: recorder, inflater: inflater))
                        return true
                    }
                }
                var headers = HTTPHeaders()
                headers.add(name: "Host", value: "127.0.0.1:\(port)")
                if deflate { headers.add(name: "Sec-WebSocket-Extensions", value: "permessage-deflate") }
                if let offered = offeredSubprotocols(delta: delta, token: token) { headers.add(name: "Sec-WebSocket-Protocol", value: offered) }
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
        return try await upgraded.get()
    } catch {
        return false
    }
}

/// Reads whole snapshot frames on one connection and answers pings; all on the event loop.
final class DecodedSnapshotReceiver: ChannelInboundHandler {
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
            let now = unixMilliseconds()
            let data = frame.unmaskedData
            let head: String
            if frame.rsv1, let inflater {
                head = inflater.head(of: data) ?? ""
            } else {
                head = data.getString(at: data.readerIndex, length: min(300, data.readableBytes)) ?? ""
            }
            recorder.record(client: client, head: head, receivedAt: now, bytes: data.readableBytes)
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
}
