import Foundation
import RollcastCore
import Testing

@Suite("Reliability", .serialized, .timeLimit(.minutes(3)))
struct ReliabilityTests {
    /// 20 symbols × 2,400 points: snapshots of about 1.4 MB.
    static let bigSnapshots = [
        "--mock-symbols", (1...20).map { "S\($0)" }.joined(separator: ","), "--mock-rate", "8", "--window", "300", "--interval", "1", "--max-points", "0",
    ]

    @Test("a client that never reads delays no one: 20 others get every ~1.4 MB snapshot, RSS stays bounded, the stuck one is closed")
    func slowReader() async throws {
        try await RollcastStack.with(producerArguments: Self.bigSnapshots, gatewayArguments: ["--slow-client-timeout", "3"]) { stack in
            try await stack.waitUntilReady(within: .seconds(30))
            let gateway = try #require(stack.gateway)
            let port = stack.port
            // Connects, completes the handshake, and never reads again.
            let stuck = try RawWebSocket(port: port, receiveBuffer: 4096)
            #expect(stuck.status == 101)
            let url = stack.webSocketURL
            let received = try await withThrowingTaskGroup(of: [UInt64].self) { group in
                for _ in 0..<20 {
                    group.addTask { try await WebSocketProbe.collect(11, from: url, within: .seconds(60)) { WebSocketProbe.seq(of: $0) ?? 0 } }
                }
                var all: [[UInt64]] = []
                for try await seqs in group { all.append(seqs) }
                return all
            }
            for seqs in received {
                // The first message is the cached snapshot; after it, no gaps.
                #expect(zip(seqs, seqs.dropFirst()).allSatisfy { $1 == $0 + 1 }, "seq gap: \(seqs)")
            }
            let rssMiB = gateway.residentKiB / 1024
            print("slow reader: gateway RSS \(rssMiB) MiB with 20 clients and one stuck, ~1.4 MB snapshots")
            #expect(rssMiB < 150, "gateway RSS \(rssMiB) MiB")
            // 11 s have passed with the stuck client's socket full: the 3 s limit closed it.
            let status = try await stack.request(.GET, "/api/status").body
            #expect(status.contains(#""slow_clients_closed":1"#), "\(status)")
            _ = stuck
        }
    }

    @Test("producer SIGKILL: clients stay connected, /readyz stays 200 with the feed stale, and the next producer's snapshots arrive within 2 intervals")
    func producerKilled() async throws {
        try await RollcastStack.with(producerArguments: ["--mock-symbols", "K1,K2", "--interval", "0.5"]) { stack in
            try await stack.waitUntilReady()
            let url = stack.webSocketURL
            let killedAt = Box<ContinuousClock.Instant?>(nil)
            let restartedAt = Box<ContinuousClock.Instant?>(nil)
            // One client stays connected throughout and records (run, seq, arrival) of each message.
            let seen = Collected<Arrival>()
            let client = Task {
                try await WebSocketProbe.collectUntil(from: url, within: .seconds(40), into: seen) { text in
                    let chart = try JSONDecoder().decode([ChartObject].self, from: Data(text.utf8))[0]
                    return Arrival(runID: chart.runID, seq: chart.seq, at: .now)
                } done: { arrivals in
                    arrivals.count >= 2 && arrivals.last!.runID != arrivals.first!.runID
                }
            }
            // Kill only once the client has the current run's snapshot.
            _ = try await poll("the client's first snapshot", within: .seconds(15)) { await seen.items.isEmpty ? nil : true }
            await stack.producer?.stop(signal: SIGKILL)
            killedAt.value = .now
            let stale = try await poll("the feed to turn stale", within: .seconds(15)) { () -> ReadinessTests.Readiness? in
                let state = try await ReadinessTests.readiness(stack)
                return state.feed == "stale" ? state : nil
            }
            #expect(stale.status == .ok, "a gateway that holds the last snapshot can still serve")
            try stack.startProducer()
            restartedAt.value = .now
            let arrivals = try await client.value
            let oldRun = arrivals[0].runID
            let afterKill = arrivals.filter { $0.at > killedAt.value! }
            #expect(afterKill.allSatisfy { $0.runID != oldRun }, "nothing from the dead run arrived after the kill")
            let firstNew = try #require(arrivals.first { $0.runID != oldRun })
            let delay = restartedAt.value!.duration(to: firstNew.at)
            print("producer restart: first new snapshot \(delay) after the restart")
            #expect(delay < .seconds(1) + .milliseconds(500 * 2), "new snapshots within 2 intervals of the producer being up")
            try await stack.waitUntilReady()
        }
    }

    @Test("gateway SIGTERM: clients get close code 1001, exit 0, and a restart on the same port works at once")
    func gatewayTerminated() async throws {
        try await RollcastStack.with(producerArguments: ["--mock-symbols", "G1", "--interval", "0.5"]) { stack in
            try await stack.waitUntilReady()
            let gateway = try #require(stack.gateway)
            let port = stack.port
            let url = stack.webSocketURL
            let codes = try await withThrowingTaskGroup(of: UInt16?.self) { group in
                let connected = Collected<Bool>()
                for _ in 0..<3 {
                    group.addTask { try await WebSocketProbe.closeCode(from: url, onConnect: { _ = await connected.append(true) }, within: .seconds(15)) }
                }
                _ = try await poll("3 clients connected", within: .seconds(10)) { await connected.items.count == 3 ? true : nil }
                let started = ContinuousClock.now
                #expect(await gateway.stop(deadline: .seconds(2)) == 0, "exit 0 within 2 s")
                print("gateway shutdown with 3 clients: \(started.duration(to: .now))")
                var codes: [UInt16?] = []
                for try await code in group { codes.append(code) }
                return codes
            }
            #expect(codes == [1001, 1001, 1001])
            try await stack.startGateway(port: port)
            #expect(stack.port == port)
            try await stack.waitUntilReady()
        }
    }

    @Test("a client that does not answer pings is closed with 1001; one that answers stays")
    func deadPeers() async throws {
        try await RollcastStack.with(
            producerArguments: ["--mock-symbols", "P1", "--interval", "0.5"],
            gatewayArguments: ["--ping-interval", "0.5", "--pong-timeout", "0.5"]
        ) { stack in
            try await stack.waitUntilReady()
            let port = stack.port
            let started = ContinuousClock.now
            // Reads everything but never answers a ping.
            let silent = try await Task.detached { try RawWebSocket(port: port, timeout: 10).closeCode() }.value
            let closedAfter = started.duration(to: .now)
            #expect(silent == 1001)
            #expect(closedAfter < .seconds(3), "closed after \(closedAfter)")
            // A real client answers pings by itself and keeps receiving for many intervals.
            let seqs = try await WebSocketProbe.collect(8, from: stack.webSocketURL, within: .seconds(10)) { WebSocketProbe.seq(of: $0) ?? 0 }
            #expect(seqs.count == 8)
            #expect(try await stack.request(.GET, "/api/status").body.contains(#""ping_timeouts":1"#))
        }
    }

    @Test("10,000 WebSocket connect/close cycles leave RSS and open file descriptors where they were")
    func connectionChurn() async throws {
        try await RollcastStack.with(producerArguments: ["--mock-symbols", "C1", "--interval", "0.5"]) { stack in
            try await stack.waitUntilReady()
            let gateway = try #require(stack.gateway)
            let port = stack.port
            @Sendable func churn(_ cycles: Int) async throws {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for worker in 0..<16 {
                        group.addTask {
                            for _ in stride(from: worker, to: cycles, by: 16) {
                                let socket = try RawWebSocket(port: port)
                                guard socket.status == 101 else { throw RawError("handshake answered \(socket.status)") }
                                try socket.sendFrame(opcode: 0x8, payload: [0x03, 0xE8])
                                _ = try socket.closeCode()
                            }
                        }
                    }
                    try await group.waitForAll()
                }
            }
            try await churn(1_000)  // warm up allocator arenas and buffer pools
            _ = try await poll("clients to drain", within: .seconds(10)) {
                try await stack.request(.GET, "/api/status").body.contains(#""clients":0"#) ? true : nil
            }
            let rssBefore = gateway.residentKiB
            let fdsBefore = gateway.openFileDescriptors
            let started = ContinuousClock.now
            try await withTimeout(.seconds(120), "10,000 connect/close cycles") { try await churn(10_000) }
            let elapsed = started.duration(to: .now)
            _ = try await poll("clients to drain", within: .seconds(10)) {
                try await stack.request(.GET, "/api/status").body.contains(#""clients":0"#) ? true : nil
            }
            let rssAfter = gateway.residentKiB
            let fdsAfter = gateway.openFileDescriptors
            print("churn: 10,000 cycles in \(elapsed); RSS \(rssBefore) → \(rssAfter) KiB; fds \(fdsBefore) → \(fdsAfter)")
            #expect(rssAfter - rssBefore < 4 * 1024, "RSS grew by \(rssAfter - rssBefore) KiB")
            #expect(fdsAfter <= fdsBefore + 2, "file descriptors \(fdsBefore) → \(fdsAfter)")
        }
    }
}

struct Arrival: Sendable {
    let runID: String
    let seq: UInt64
    let at: ContinuousClock.Instant
}

final class Box<T: Sendable>: @unchecked Sendable {
    // Safe to share: written before the reader's task is awaited.
    var value: T
    init(_ value: T) { self.value = value }
}
