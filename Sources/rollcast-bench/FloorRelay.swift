import ArgumentParser
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket
import RollcastCore
import Synchronization

/// The floor the fan-out benchmark measures Rollcast against: the least a WebSocket relay on
/// NIO can do. It upgrades connections with NIO's own upgrader and, every interval, frames one
/// message once and writes that buffer to every connection, one hop per event loop, as the
/// gateway does; it reads nothing, pings no one, checks nothing and counts nothing.
struct FloorRelay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "floor-relay",
        abstract: "The minimal relay the fan-out benchmark compares with (started by it; runs until SIGTERM)."
    )

    @Option(help: "Where to write the port it listens on.")
    var portFile: String
    @Option(help: "Bytes per message.")
    var bytes: Int
    @Option(help: "Seconds between messages.")
    var interval = 1.0

    func run() async throws {
        _ = FileLimit.raiseToHardLimit()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        let clients = FloorClients()
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 4096)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                let upgrader = NIOWebSocketServerUpgrader(
                    maxFrameSize: 4096,
                    shouldUpgrade: { channel, _ in channel.eventLoop.makeSucceededFuture(HTTPHeaders()) },
                    upgradePipelineHandler: { channel, _ in
                        channel.eventLoop.makeCompletedFuture {
                            // Frames are made once, whole: they enter next to the socket, below
                            // NIO's frame encoder (as the gateway's do).
                            let outlet = FloorOutlet()
                            try channel.pipeline.syncOperations.addHandler(outlet, position: .first)
                            clients.add(channel, outlet: outlet)
                        }
                    }
                )
                return channel.pipeline.configureHTTPServerPipeline(withServerUpgrade: (upgraders: [upgrader], completionHandler: { _ in }))
            }
            .bind(host: "127.0.0.1", port: 0).get()
        try "\(channel.localAddress?.port ?? 0)\n".write(toFile: portFile, atomically: true, encoding: .utf8)
        var seq: UInt64 = 0
        while !Task.isCancelled {
            try await Task.sleep(for: .seconds(interval))
            seq += 1
            clients.send(RelayMessage.frame(RelayMessage.make(seq: seq, bytes: bytes)))
        }
    }
}

/// The upgraded connections, by event loop.
final class FloorClients: Sendable {
    private let loops = Mutex<[ObjectIdentifier: (loop: any EventLoop, outlets: [ObjectIdentifier: NIOLoopBound<FloorOutlet>])]>([:])

    func add(_ channel: any Channel, outlet: FloorOutlet) {
        let loop = ObjectIdentifier(channel.eventLoop)
        let id = ObjectIdentifier(channel)
        let bound = NIOLoopBound(outlet, eventLoop: channel.eventLoop)
        loops.withLock { $0[loop, default: (channel.eventLoop, [:])].outlets[id] = bound }
        channel.closeFuture.whenComplete { [self] _ in
            _ = loops.withLock { $0[loop]?.outlets.removeValue(forKey: id) }
        }
    }

    /// Writes `frame` to every connection: one hop per event loop, the same buffer for all.
    func send(_ frame: ByteBuffer) {
        for (loop, outlets) in loops.withLock({ Array($0.values) }) {
            let outlets = Array(outlets.values)
            loop.execute {
                for outlet in outlets { outlet.value.send(frame) }
            }
        }
    }
}

/// Where a connection's frames enter its pipeline: next to the socket.
final class FloorOutlet: ChannelOutboundHandler {
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    private var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func send(_ frame: ByteBuffer) {
        context?.writeAndFlush(wrapOutboundOut(frame), promise: nil)
    }
}
