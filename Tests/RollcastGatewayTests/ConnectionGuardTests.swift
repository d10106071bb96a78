import NIOCore
import NIOEmbedded
import NIOWebSocket
import Synchronization
import Testing

@testable import RollcastGateway

/// The stall rule on an embedded channel whose clock the test moves: a client is closed
/// once its socket has stayed unwritable for the whole limit, and not before.
@Suite("ConnectionGuard stall limit")
struct ConnectionGuardTests {
    final class Closures: Sendable {
        private let list = Mutex<[ConnectionGuard.Closure]>([])
        var all: [ConnectionGuard.Closure] { list.withLock { $0 } }
        func append(_ closure: ConnectionGuard.Closure) { list.withLock { $0.append(closure) } }
    }

    /// Pings far away, so only the stall rule acts.
    static let limits = ConnectionGuard.Limits(pingInterval: .hours(1), pongTimeout: .seconds(10), stallLimit: .seconds(30))

    let channel = EmbeddedChannel()
    let closures = Closures()

    init() throws {
        let closures = closures
        try channel.pipeline.syncOperations.addHandler(ConnectionGuard(limits: Self.limits, sweeps: ClientSweeps(interval: Self.limits.pingInterval, deadline: Self.limits.pongTimeout)) { closures.append($0) })
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9)).wait()
    }

    func setWritable(_ writable: Bool) {
        channel.isWritable = writable
        channel.pipeline.fireChannelWritabilityChanged()
    }

    func advance(seconds: Int64) {
        channel.embeddedEventLoop.advanceTime(by: .seconds(seconds))
    }

    /// The close frame the guard wrote, if any: its code and reason.
    func closeFrame() throws -> (code: WebSocketErrorCode?, reason: String)? {
        while let frame = try channel.readOutbound(as: WebSocketFrame.self) {
            guard frame.opcode == .connectionClose else { continue }
            var data = frame.unmaskedData
            return (data.readWebSocketErrorCode(), data.readString(length: data.readableBytes) ?? "")
        }
        return nil
    }

    @Test("unwritable for the whole limit: closed with 1008 \"client too slow\", at the limit and not before")
    func stuckClientClosed() throws {
        setWritable(false)
        advance(seconds: 29)
        #expect(closures.all.isEmpty)
        #expect(channel.isActive)
        advance(seconds: 1)
        #expect(closures.all == [.tooSlow])
        let frame = try #require(try closeFrame())
        #expect(frame.code == .policyViolation)
        #expect(frame.reason == "client too slow")
        #expect(!channel.isActive)
    }

    @Test("a socket that drained in between is judged by its latest unwritable spell")
    func latestSpellCounts() throws {
        setWritable(false)
        advance(seconds: 10)
        setWritable(true)
        advance(seconds: 10)
        setWritable(false)  // unwritable again from t = 20 s
        advance(seconds: 10)  // t = 30 s: the first check finds a spell of 10 s only
        #expect(closures.all.isEmpty)
        advance(seconds: 19)  // t = 49 s
        #expect(closures.all.isEmpty)
        #expect(channel.isActive)
        advance(seconds: 1)  // t = 50 s: 30 s unwritable
        #expect(closures.all == [.tooSlow])
    }

    @Test("a client that keeps draining, however often its socket fills, is never closed")
    func drainingClientKept() throws {
        for _ in 0..<100 {
            setWritable(false)
            advance(seconds: 5)
            setWritable(true)
            advance(seconds: 1)
        }
        #expect(closures.all.isEmpty)
        #expect(channel.isActive)
        #expect(try closeFrame() == nil)
    }
}
