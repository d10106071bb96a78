import AsyncHTTPClient
import Foundation
import NIOCore
import RollcastCore
import Testing

/// `rollcast-broker` between a producer and gateways, all real processes on a private run directory.
@Suite("Broker", .serialized, .timeLimit(.minutes(2)))
struct BrokerTests {
    /// The brokers a test started, newest last; stopped on every path.
    final class Brokers: @unchecked Sendable {
        // Safe to share: each test drives its brokers from one task at a time.
        let directory: String
        private(set) var started: [RollcastProcess] = []

        init(directory: String) {
            self.directory = directory
        }

        /// Seconds a silent producer's snapshot stays in the cache.
        var silenceTimeout = 30

        @discardableResult
        func start() throws -> RollcastProcess {
            let broker = try RollcastProcess(
                executable: "rollcast-broker", arguments: ["--run-dir", directory, "--silence-timeout", "\(silenceTimeout)"],
                logPath: "\(directory)/broker-\(started.count).log"
            )
            started.append(broker)
            return broker
        }

        var current: RollcastProcess? { started.last }

        func stopAll() async {
            for broker in started { await broker.stop() }
        }
    }

    /// A stack whose producer publishes into a broker and whose gateway subscribes to it.
    static func withBrokeredStack(interval: String, silenceTimeout: Int = 30, _ body: (RollcastStack, Brokers) async throws -> Void) async throws {
        let stack = try RollcastStack(producerArguments: ["--mock-symbols", "BK", "--interval", interval, "--name", "desk-1"])
        let run = RunDirectory(path: stack.runDirectory)
        let brokers = Brokers(directory: stack.runDirectory)
        brokers.silenceTimeout = silenceTimeout
        do {
            try brokers.start()
            try stack.startProducer(extra: ["--broker", run.brokerProducerEndpoint])
            try await stack.startGateway(extra: ["--snapshot-endpoint", run.brokerGatewayEndpoint])
            try await body(stack, brokers)
        } catch {
            for process in brokers.started + [stack.producer, stack.gateway].compactMap({ $0 }) {
                FileHandle.standardError.write(Data("--- \(process.name) log\n\(process.log.suffix(3000))\n".utf8))
            }
            await brokers.stopAll()
            await stack.tearDown()
            throw error
        }
        await brokers.stopAll()
        await stack.tearDown()
    }

    @Test("two brokers: a producer publishes to both, a gateway subscribes to both, and a client gets every snapshot exactly once while each broker in turn is killed and restarted")
    func twoBrokers() async throws {
        let stack = try RollcastStack(producerArguments: ["--mock-symbols", "B2", "--interval", "0.3", "--name", "desk-2"])
        let directory = stack.runDirectory
        let sides = (1...2).map { ("ipc://\(directory)/b\($0)-in.sock", "ipc://\(directory)/b\($0)-out.sock") }
        var brokers: [RollcastProcess] = []
        func startBroker(_ index: Int) throws -> RollcastProcess {
            let broker = try RollcastProcess(
                executable: "rollcast-broker", arguments: ["--run-dir", directory, "--producer-endpoint", sides[index].0, "--gateway-endpoint", sides[index].1],
                logPath: "\(directory)/broker-\(index + 1)-\(brokers.count).log"
            )
            brokers.append(broker)
            return broker
        }
        do {
            var running = [try startBroker(0), try startBroker(1)]
            try stack.startProducer(extra: ["--broker", sides[0].0, "--broker", sides[1].0])
            try await stack.startGateway(extra: ["--snapshot-endpoint", sides[0].1, "--snapshot-endpoint", sides[1].1])
            try await stack.waitUntilReady()
            let url = stack.webSocketURL
            let seen = Collected<Arrival>()
            let finished = Box<Bool>(false)
            let client = Task {
                try await WebSocketProbe.collectUntil(from: url, within: .seconds(60), into: seen) { text in
                    let chart = try JSONDecoder().decode([ChartObject].self, from: Data(text.utf8))[0]
                    return Arrival(runID: chart.runID, seq: chart.seq, at: .now)
                } done: { _ in finished.value }
            }
            func seqsSeen(beyond count: UInt64) async throws {
                let start = try await poll("the client's first snapshot", within: .seconds(15)) { await seen.items.last?.seq }
                _ = try await poll("\(count) more snapshots at the client", within: .seconds(10)) { (await seen.items.last?.seq ?? 0) >= start + count ? true : nil }
            }
            try await seqsSeen(beyond: 3)
            for index in [0, 1] {
                // One broker gone (SIGKILL: its socket files stay): the other carries every snapshot.
                await running[index].stop(signal: SIGKILL)
                try await seqsSeen(beyond: 5)
                running[index] = try startBroker(index)
                try await seqsSeen(beyond: 5)
            }
            finished.value = true
            let arrivals = try await client.value
            let seqs = arrivals.map(\.seq)
            #expect(Set(arrivals.map(\.runID)).count == 1)
            #expect(zip(seqs, seqs.dropFirst()).allSatisfy { $1 == $0 + 1 }, "not every snapshot exactly once: \(seqs)")
            let gaps = zip(arrivals, arrivals.dropFirst()).map { $0.at.duration(to: $1.at) }
            let longest = gaps.max() ?? .zero
            print("two brokers, each killed and restarted: \(seqs.count) snapshots, the longest gap \(longest.milliseconds) ms (interval 300 ms)")
            #expect(longest < .seconds(1), "a gap of \(longest) with one broker left")
        } catch {
            for process in brokers + [stack.producer, stack.gateway].compactMap({ $0 }) {
                FileHandle.standardError.write(Data("--- \(process.name) log\n\(process.log.suffix(3000))\n".utf8))
            }
            for broker in brokers { await broker.stop() }
            await stack.tearDown()
            throw error
        }
        for broker in brokers { await broker.stop() }
        await stack.tearDown()
    }

    /// `/readyz` of the gateway on `port`: its status and the seq and run it reports.
    static func readiness(port: Int) async throws -> (ready: Bool, seq: UInt64?, runID: String?) {
        let answer = try await testHTTPClient.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/readyz"), timeout: .seconds(5))
        let body = try await answer.body.collect(upTo: 1 << 16)
        let json = try JSONSerialization.jsonObject(with: Data(String(buffer: body).utf8)) as? [String: Any]
        return (answer.status == .ok, (json?["seq"] as? NSNumber)?.uint64Value, json?["run_id"] as? String)
    }

    @Test("snapshots pass through the broker; a gateway that cannot ask the producer for one is ready at once from the broker's cache")
    func lastValueCache() async throws {
        // One snapshot every 10 s: a late gateway that had to wait for the next would wait seconds.
        try await Self.withBrokeredStack(interval: "10") { stack, _ in
            try await stack.waitUntilReady()
            let chart = try await stack.chart("BK", fromSeq: 1)
            #expect(!chart.t.isEmpty)
            let directory = stack.runDirectory
            let portFile = "\(directory)/late.port"
            let started = ContinuousClock.now
            let late = try RollcastProcess(
                executable: "rollcast-gateway",
                arguments: [
                    "--run-dir", directory, "--port", "0", "--port-file", portFile, "--web-root", "\(TestEnvironment.repositoryRoot)/web",
                    "--snapshot-endpoint", RunDirectory(path: directory).brokerGatewayEndpoint,
                    // No control link: it cannot ask the producer to publish, only the broker's cache can serve it.
                    "--control-endpoint", "ipc://\(directory)/nowhere.sock",
                ],
                logPath: "\(directory)/late.log"
            )
            let port = try await poll("the late gateway's port file", within: .seconds(20)) {
                (try? String(contentsOfFile: portFile, encoding: .utf8)).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            }
            let listening = ContinuousClock.now
            let ready = try await poll("the late gateway to be ready", within: .seconds(8)) {
                let state = try await Self.readiness(port: port)
                return state.ready ? state : nil
            }
            let elapsed = listening.duration(to: .now)
            print(
                "late gateway ready \(elapsed.milliseconds) ms after it listened (\(started.duration(to: .now).milliseconds) ms after its start), seq \(ready.seq ?? 0)"
            )
            // Without the cache it would wait for the producer's next snapshot, 10 s after seq 1.
            // Timed from listening: a process start on a loaded machine once took 3.5 s alone.
            #expect(elapsed < .seconds(5), "ready only after \(elapsed): not from the cache")
            #expect(ready.seq == (try await Self.readiness(port: stack.port)).seq, "the cached snapshot is the latest")
            await late.stop()
        }
    }

    @Test("a restarted broker: the gateway relays again; a restarted producer's new run replaces the old one")
    func restarts() async throws {
        try await Self.withBrokeredStack(interval: "0.3") { stack, brokers in
            try await stack.waitUntilReady()
            let before = try await Self.readiness(port: stack.port)
            let first = try #require(brokers.current)
            #expect(first.log.contains("producer seen"))
            #expect(await first.stop() == 0, "the broker stops cleanly on SIGTERM")
            try brokers.start()
            let relayed = try await poll("snapshots through the new broker", within: .seconds(10)) {
                let state = try await Self.readiness(port: stack.port)
                return state.ready && (state.seq ?? 0) > (before.seq ?? 0) + 2 ? state : nil
            }
            #expect(relayed.runID == before.runID)

            // The producer restarts: its new run is relayed, and stays.
            await stack.producer?.stop(signal: SIGKILL)
            try stack.startProducer(extra: ["--broker", RunDirectory(path: stack.runDirectory).brokerProducerEndpoint])
            let newRun = try await poll("the new run through the broker", within: .seconds(10)) {
                let state = try await Self.readiness(port: stack.port)
                return state.ready && state.runID != before.runID ? state : nil
            }
            // Five more snapshots, every one of the new run: the old run's cached one never comes back.
            _ = try await poll("five more snapshots of the new run", within: .seconds(10)) { () -> Bool? in
                let state = try await Self.readiness(port: stack.port)
                #expect(state.runID == newRun.runID, "the gateway went back to the old run")
                return (state.seq ?? 0) >= (newRun.seq ?? 0) + 5 ? true : nil
            }
        }
    }
}

extension BrokerTests {
    @Test("a producer silent past --silence-timeout: the broker drops its snapshot, so a gateway that subscribes later is not handed it")
    func silentProducerDropped() async throws {
        try await Self.withBrokeredStack(interval: "0.3", silenceTimeout: 1) { stack, brokers in
            try await stack.waitUntilReady()
            await stack.producer?.stop(signal: SIGKILL)
            let broker = try #require(brokers.current)
            _ = try await poll("the broker to drop the silent producer", within: .seconds(15)) {
                broker.log.contains("producer silent, its snapshot dropped") ? true : nil
            }
            // The subscriptions answered so far (the first gateway's, at least).
            let subscribed = broker.log.split(separator: "\n").filter { $0.contains("gateway subscribed") }.count
            let directory = stack.runDirectory
            let portFile = "\(directory)/late.port"
            let late = try RollcastProcess(
                executable: "rollcast-gateway",
                arguments: [
                    "--run-dir", directory, "--port", "0", "--port-file", portFile, "--web-root", "\(TestEnvironment.repositoryRoot)/web",
                    "--snapshot-endpoint", RunDirectory(path: directory).brokerGatewayEndpoint, "--control-endpoint", "ipc://\(directory)/nowhere.sock",
                ],
                logPath: "\(directory)/late.log"
            )
            do {
                let port = try await poll("the late gateway's port file", within: .seconds(20)) {
                    (try? String(contentsOfFile: portFile, encoding: .utf8)).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
                }
                // The broker answers each subscription with what its cache holds, and says how much.
                let handed = try await poll("the broker to answer the late gateway's subscription", within: .seconds(10)) { () -> [String]? in
                    let lines = broker.log.split(separator: "\n").filter { $0.contains("gateway subscribed") }.map(String.init)
                    return lines.count >= subscribed + 1 ? lines : nil
                }
                #expect(handed.last?.contains("cached_snapshots_sent=0") == true, "the broker handed over a dead producer's snapshot: \(handed)")
                #expect(try await Self.readiness(port: port).seq == nil, "the late gateway holds a snapshot")
                // The same gateway gets what a live producer sends: a held snapshot would have reached it.
                try stack.startProducer(extra: ["--broker", RunDirectory(path: directory).brokerProducerEndpoint])
                _ = try await poll("the late gateway to relay the new producer", within: .seconds(10)) {
                    try await Self.readiness(port: port).ready ? true : nil
                }
            } catch {
                await late.stop()
                throw error
            }
            await late.stop()
        }
    }

    @Test("a broker on tcp:// with CURVE: an admitted producer and gateway relay through it; a stranger gateway gets nothing and the broker logs it")
    func curveBroker() async throws {
        let stack = try RollcastStack(producerArguments: ["--mock-symbols", "BC", "--interval", "0.3", "--name", "desk-2"])
        let directory = stack.runDirectory
        for name in ["broker", "producer", "gateway", "stranger"] {
            let made = try RollcastProcess(executable: "rollcast-keygen", arguments: ["\(directory)/\(name)"], logPath: "\(directory)/keygen-\(name).log")
            #expect(await made.waitForExit(within: .seconds(15)) && made.process.terminationStatus == 0)
        }
        let admitted = "\(directory)/admitted.pub"
        try ((try String(contentsOfFile: "\(directory)/producer.pub", encoding: .utf8)) + (try String(contentsOfFile: "\(directory)/gateway.pub", encoding: .utf8)))
            .write(toFile: admitted, atomically: true, encoding: .utf8)
        let producerSide = "tcp://127.0.0.1:\(try CurveLinkTests.freePort())"
        let gatewaySide = "tcp://127.0.0.1:\(try CurveLinkTests.freePort())"
        let broker = try RollcastProcess(
            executable: "rollcast-broker",
            arguments: [
                "--run-dir", directory, "--producer-endpoint", producerSide, "--gateway-endpoint", gatewaySide,
                "--curve-secret-key", "\(directory)/broker.key", "--curve-allow", admitted,
            ],
            logPath: "\(directory)/broker.log"
        )
        var stranger: RollcastProcess?
        do {
            try stack.startProducer(extra: [
                "--broker", producerSide, "--curve-secret-key", "\(directory)/producer.key", "--curve-allow", admitted,
                "--curve-broker-key", "\(directory)/broker.pub",
            ])
            try await stack.startGateway(extra: [
                "--snapshot-endpoint", gatewaySide, "--curve-secret-key", "\(directory)/gateway.key", "--curve-broker-key", "\(directory)/broker.pub",
            ])
            try await stack.waitUntilReady()
            #expect(!(try await stack.chart("BC", fromSeq: 1)).t.isEmpty)

            let portFile = "\(directory)/stranger.port"
            stranger = try RollcastProcess(
                executable: "rollcast-gateway",
                arguments: [
                    "--run-dir", directory, "--port", "0", "--port-file", portFile, "--web-root", "\(TestEnvironment.repositoryRoot)/web",
                    "--snapshot-endpoint", gatewaySide, "--curve-secret-key", "\(directory)/stranger.key", "--curve-broker-key", "\(directory)/broker.pub",
                ],
                logPath: "\(directory)/stranger.log"
            )
            let port = try await poll("the stranger's port file", within: .seconds(20)) {
                (try? String(contentsOfFile: portFile, encoding: .utf8)).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            }
            _ = try await poll("the broker to log the refusal", within: .seconds(10)) { broker.log.contains("peer refused") ? true : nil }
            // While the admitted gateway relays three more snapshots through the broker, the stranger gets none.
            try await ReadinessTests.waitForSnapshots(3, through: stack)
            #expect(try await Self.readiness(port: port).ready == false, "a gateway with a key the broker does not admit got snapshots")
        } catch {
            FileHandle.standardError.write(Data("--- broker log\n\(broker.log.suffix(3000))\n".utf8))
            await stranger?.stop()
            await broker.stop()
            await stack.tearDown()
            throw error
        }
        await stranger?.stop()
        await broker.stop()
        await stack.tearDown()
    }
}
