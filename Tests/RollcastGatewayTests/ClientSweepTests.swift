import NIOCore
import NIOEmbedded
import NIOWebSocket
import Synchronization
import Testing

@testable import RollcastGateway

/// One event loop's sweep pinging several WebSocket clients, on an embedded loop the test moves.
@Suite("Client sweep")
struct ClientSweepTests {
    static let limits = ConnectionGuard.Limits(pingInterval: .seconds(10), pongTimeout: .seconds(4), stallLimit: .hours(1))

    let loop = EmbeddedEventLoop()
    let sweeps = ClientSweeps(interval: Self.limits.pingInterval, deadline: Self.limits.pongTimeout)
    let closed = ClosedClients()
    var channels: [EmbeddedChannel] = []

    final class ClosedClients: Sendable {
        private let list = Mutex<[Int]>([])
        var all: [Int] { list.withLock { $0.sorted() } }
        func append(_ client: Int) { list.withLock { $0.append(client) } }
    }

    init() throws {
        for client in 0..<10 {
            let channel = EmbeddedChannel(loop: loop)
            let closed = closed
            try channel.pipeline.syncOperations.addHandler(
                ConnectionGuard(limits: Self.limits, sweeps: sweeps) { closure in
                    if closure == .pingTimeout { closed.append(client) }
                }
            )
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9)).wait()
            channels.append(channel)
        }
    }

    /// The pings client `index` was sent since the last call: their payloads.
    func pings(_ index: Int) throws -> [ByteBuffer] {
        var payloads: [ByteBuffer] = []
        while let frame = try channels[index].readOutbound(as: WebSocketFrame.self), frame.opcode == .ping {
            payloads.append(frame.data)
        }
        return payloads
    }

    func answer(_ index: Int, _ payload: ByteBuffer) throws {
        // A client's frames are masked; an all-zero key leaves the payload as it is.
        try channels[index].writeInbound(WebSocketFrame(fin: true, opcode: .pong, maskKey: WebSocketMaskingKey([0, 0, 0, 0]), data: payload))
    }

    /// Moves the loop on `seconds`, one tick at a time (a timer's next run is set from when it ran),
    /// answering the pings of the clients `answers` names; returns the pings each client was sent.
    func run(seconds: Int, answers: (Int) -> Bool) throws -> [Int] {
        var sent = Array(repeating: 0, count: channels.count)
        for _ in 0..<seconds {
            loop.advanceTime(by: .seconds(1))
            for index in channels.indices where channels[index].isActive {
                let new = try pings(index)
                sent[index] += new.count
                if answers(index) { for payload in new { try answer(index, payload) } }
            }
        }
        return sent
    }

    @Test("each client is pinged once per interval from one timer; those that answer stay, the others are closed at their deadline")
    func pingsAndDeadlines() throws {
        #expect(sweeps.sweep(on: loop).count == 10)
        #expect(try run(seconds: 10) { _ in true } == Array(repeating: 1, count: 10), "one ping each per interval")
        // Now the odd clients stop answering: each is closed 4 s after its next ping (within two
        // intervals: one moved in the list when another left may wait that long).
        _ = try run(seconds: 25) { $0 % 2 == 0 }
        #expect(closed.all == [1, 3, 5, 7, 9])
        #expect(channels.enumerated().allSatisfy { $0.element.isActive == ($0.offset % 2 == 0) })
        #expect(sweeps.sweep(on: loop).count == 5, "closed clients leave the sweep")
        // Those left go on being pinged, at least once an interval (a client moved in the list
        // when another left may wait up to two).
        let sent = try run(seconds: 20) { _ in true }
        #expect(sent.enumerated().allSatisfy { $0.offset % 2 == 1 ? $0.element == 0 : $0.element >= 1 }, "\(sent)")
    }

    @Test("a client that goes leaves the sweep; one that comes later is pinged within an interval")
    func membersComeAndGo() throws {
        // (Not `finish()`: that runs every scheduled task of the shared loop at once.)
        try channels[3].close().wait()
        #expect(sweeps.sweep(on: loop).count == 9)
        let late = EmbeddedChannel(loop: loop)
        try late.pipeline.syncOperations.addHandler(ConnectionGuard(limits: Self.limits, sweeps: sweeps) { _ in })
        try late.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9)).wait()
        #expect(sweeps.sweep(on: loop).count == 10)
        for _ in 0..<10 { loop.advanceTime(by: .seconds(1)) }
        var pinged = 0
        while let frame = try late.readOutbound(as: WebSocketFrame.self), frame.opcode == .ping { pinged += 1 }
        #expect(pinged == 1)
    }
}
