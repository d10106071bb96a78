import AsyncHTTPClient
import Foundation
import NIOCore
import RollcastCore
import Testing

/// Several producers, each with its own symbols, through one broker to several gateways: all
/// real processes, each in a run directory of its own under one private folder.
@Suite("Sharded producers", .serialized, .timeLimit(.minutes(3)))
struct ShardedTests {
    /// A broker, named producers and gateways; every process is stopped on every path.
    final class Fleet: @unchecked Sendable {
        // Safe to share: each test drives its fleet from one task at a time.
        let root: String
        let interval: Double
        private(set) var processes: [String: RollcastProcess] = [:]
        private(set) var ports: [String: Int] = [:]

        init(interval: Double) throws {
            // Short: Unix socket paths are limited to about 107 bytes.
            root = "/tmp/rcs-\(UUID().uuidString.prefix(8).lowercased())"
            self.interval = interval
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: false)
        }

        func directory(_ name: String) throws -> String {
            let path = "\(root)/\(name)"
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            return path
        }

        var broker: RunDirectory { RunDirectory(path: "\(root)/broker") }

        func startBroker() throws {
            processes["broker"] = try RollcastProcess(
                executable: "rollcast-broker", arguments: ["--run-dir", try directory("broker")], logPath: "\(root)/broker.log"
            )
        }

        func startProducer(_ name: String, symbols: [String], extra: [String] = []) throws {
            processes[name] = try RollcastProcess(
                executable: "rollcast-producer",
                arguments: [
                    "--run-dir", try directory(name), "--name", name, "--broker", broker.brokerProducerEndpoint,
                    "--mock-symbols", symbols.joined(separator: ","), "--interval", "\(interval)",
                ] + extra,
                logPath: "\(root)/\(name).log"
            )
        }

        /// - Parameter control: the producer whose control socket the gateway asks (for its status).
        func startGateway(_ name: String, control: String?, extra: [String] = []) async throws {
            let portFile = "\(try directory(name))/port"
            processes[name] = try RollcastProcess(
                executable: "rollcast-gateway",
                arguments: [
                    "--run-dir", try directory(name), "--port", "0", "--port-file", portFile, "--web-root", "\(TestEnvironment.repositoryRoot)/web",
                    "--enable-test-api",
                    "--snapshot-endpoint", broker.brokerGatewayEndpoint,
                    "--control-endpoint", control.map { RunDirectory(path: "\(root)/\($0)").controlEndpoint } ?? "ipc://\(root)/nowhere.sock",
                ] + extra,
                logPath: "\(root)/\(name).log"
            )
            ports[name] = try await poll("\(name)'s port file", within: .seconds(20)) {
                (try? String(contentsOfFile: portFile, encoding: .utf8)).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            }
        }

        func process(_ name: String) -> RollcastProcess? { processes[name] }

        /// The usual fleet: the broker, producers east and west, and `gateways` (each named with
        /// the producer its `--control-endpoint` names, or none), each waited for until it holds
        /// both producers live.
        func startEastAndWest(gateways: [(name: String, control: String?)]) async throws {
            try startBroker()
            try startProducer("east", symbols: ShardedTests.east)
            try startProducer("west", symbols: ShardedTests.west)
            for gateway in gateways { try await startGateway(gateway.name, control: gateway.control) }
            for gateway in gateways { _ = try await bothLive(gateway.name) }
        }

        /// The gateway's sources once it holds two producers, both live.
        func bothLive(_ gateway: String) async throws -> [String: Source] {
            try await poll("\(gateway) to hold both producers, live", within: .seconds(15)) {
                let sources = try await self.sources(gateway)
                return sources.count == 2 && sources.values.allSatisfy { $0.live } ? sources : nil
            }
        }

        /// A POST to a gateway: status and body.
        func post(_ gateway: String, _ path: String, _ body: String) async throws -> (status: Int, json: [String: Any]) {
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(ports[gateway]!)\(path)")
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
            let answer = try await testHTTPClient.execute(request, timeout: .seconds(10))
            let text = String(buffer: try await answer.body.collect(upTo: 1 << 20))
            return (Int(answer.status.code), (try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]) ?? [:])
        }

        /// A gateway's current window.
        func window(_ gateway: String) async throws -> [String: ChartObject] {
            let answer = try await testHTTPClient.execute(.init(url: "http://127.0.0.1:\(ports[gateway]!)/api/realtime_window"), timeout: .seconds(5))
            let text = String(buffer: try await answer.body.collect(upTo: 16 << 20))
            let charts = try text.split(separator: "\n").map { try JSONDecoder().decode(ChartObject.self, from: Data($0.utf8)) }
            return Dictionary(uniqueKeysWithValues: charts.map { ($0.symbol, $0) })
        }

        func webSocketURL(_ gateway: String) -> String { "ws://127.0.0.1:\(ports[gateway]!)/ws/realtime_charts" }

        /// The producers a gateway's message holds, from its `/api/status`.
        func sources(_ gateway: String) async throws -> [String: Source] {
            let answer = try await testHTTPClient.execute(.init(url: "http://127.0.0.1:\(ports[gateway]!)/api/status"), timeout: .seconds(5))
            let body = try await answer.body.collect(upTo: 1 << 20)
            let status = try JSONDecoder().decode(Status.self, from: Data(String(buffer: body).utf8))
            return Dictionary(uniqueKeysWithValues: status.sources.map { ($0.name, $0) })
        }

        struct Status: Decodable {
            let sources: [Source]
        }

        struct Source: Decodable {
            let name: String
            let runID: String
            let seq: UInt64
            let live: Bool
            let charts: Int
            let hiddenSymbolsSample: [String]

            enum CodingKeys: String, CodingKey {
                case name, seq, live, charts
                case runID = "run_id"
                case hiddenSymbolsSample = "hidden_symbols_sample"
            }
        }

        func stop(_ name: String, signal: Int32 = SIGTERM) async -> Int32? {
            await processes.removeValue(forKey: name)?.stop(signal: signal)
        }

        func tearDown(failed: Bool) async {
            if failed {
                for (name, process) in processes.sorted(by: { $0.key < $1.key }) {
                    FileHandle.standardError.write(Data("--- \(name) log\n\(process.log.suffix(3000))\n".utf8))
                }
            }
            // Gateways first, so none logs a missing broker on the way out.
            let names = processes.keys.sorted()
            for name in names.filter({ $0.hasPrefix("g") }) + names.filter({ !$0.hasPrefix("g") }) { _ = await stop(name) }
            try? FileManager.default.removeItem(atPath: root)
        }

        static func with(interval: Double, _ body: (Fleet) async throws -> Void) async throws {
            let fleet = try Fleet(interval: interval)
            do {
                try await body(fleet)
            } catch {
                await fleet.tearDown(failed: true)
                throw error
            }
            await fleet.tearDown(failed: false)
        }
    }

    /// What a message holds: each chart's producer run and seq, by symbol.
    static func sources(of text: String) throws -> [String: String] {
        let charts = try JSONDecoder().decode([ChartObject].self, from: Data(text.utf8))
        return Dictionary(uniqueKeysWithValues: charts.map { ($0.symbol, "\($0.runID)/\($0.seq)") })
    }

    static let east = ["E-1", "E-2", "E-3"]
    static let west = ["W-1", "W-2"]

    @Test(
        "broker, two producers, two gateways: every message holds both producers' symbols, with the same bytes from both gateways; a late gateway is ready at once with both"
    )
    func mergedMessages() async throws {
        try await Fleet.with(interval: 0.3) { fleet in
            try await fleet.startEastAndWest(gateways: [("g1", "east"), ("g2", "west")])
            // Ten messages from each gateway at once: the snapshots both merged give the same bytes.
            async let fromFirst = WebSocketProbe.messages(10, from: fleet.webSocketURL("g1"), within: .seconds(20))
            async let fromSecond = WebSocketProbe.messages(10, from: fleet.webSocketURL("g2"), within: .seconds(20))
            let (first, second) = try await (fromFirst, fromSecond)
            var byContent: [[String: String]: String] = [:]
            for text in first {
                let sources = try Self.sources(of: text)
                #expect(sources.keys.sorted() == (Self.east + Self.west).sorted(), "a message without every symbol of both producers")
                byContent[sources] = text
            }
            var compared = 0
            for text in second {
                let sources = try Self.sources(of: text)
                #expect(sources.keys.sorted() == (Self.east + Self.west).sorted())
                guard let same = byContent[sources] else { continue }
                #expect(same == text, "two gateways holding the same snapshots sent different bytes")
                compared += 1
            }
            #expect(compared >= 5, "only \(compared) messages of the same snapshots from both gateways")

            // A gateway started now, with no producer to ask: ready from the broker's cache, with both producers.
            let started = ContinuousClock.now
            try await fleet.startGateway("g3", control: nil)
            let listening = started.duration(to: .now)
            // The window, not /api/status: status also asks a producer, and this gateway has none to ask.
            _ = try await poll("the late gateway to hold both producers", within: .seconds(15)) {
                let answer = try await testHTTPClient.execute(.init(url: "http://127.0.0.1:\(fleet.ports["g3"]!)/api/realtime_window"), timeout: .seconds(5))
                let lines = String(buffer: try await answer.body.collect(upTo: 1 << 20)).split(separator: "\n")
                return lines.count == Self.east.count + Self.west.count ? true : nil
            }
            let elapsed = started.duration(to: .now)
            let sources = try await fleet.sources("g3")
            print("late gateway held both producers \(elapsed.milliseconds) ms after its start (listening after \(listening.milliseconds) ms)")
            #expect(sources.values.allSatisfy { $0.live })
            #expect(elapsed < .seconds(1), "not from the broker's cache: \(elapsed)")
        }
    }

    @Test("a producer killed: its charts stop and are stale within 3 intervals while the other's move; restarted, they move again")
    func producerDies() async throws {
        try await Fleet.with(interval: 0.3) { fleet in
            try await fleet.startEastAndWest(gateways: [("g1", "east")])
            let before = try await fleet.bothLive("g1")
            let killed = ContinuousClock.now
            await fleet.stop("west", signal: SIGKILL)
            _ = try await poll("west to be reported stale", within: .seconds(15)) {
                try await fleet.sources("g1")["west"]?.live == false ? true : nil
            }
            let staleAfter = killed.duration(to: .now)
            let metrics = try await testHTTPClient.execute(.init(url: "http://127.0.0.1:\(fleet.ports["g1"]!)/metrics"), timeout: .seconds(5))
            let exposition = String(buffer: try await metrics.body.collect(upTo: 1 << 20))
            #expect(exposition.contains("rollcast_gateway_producers 2") && exposition.contains("rollcast_gateway_producers_live 1"), "\(exposition.suffix(1500))")
            // Every producer's own metrics, labelled: the dead one reported down, the live one's there.
            #expect(exposition.contains(#"rollcast_producer_up{producer="east"} 1"#) && exposition.contains(#"rollcast_producer_up{producer="west"} 0"#))
            #expect(exposition.contains(#"rollcast_producer_snapshots_published_total{producer="east"}"#), "\(exposition.suffix(3000))")
            let check = try Promtool.checkMetrics(exposition)
            #expect(check.status == 0, "promtool check metrics: \(check.output)")
            print("west stale \(staleAfter.milliseconds) ms after SIGKILL (interval 300 ms)")
            #expect(staleAfter <= .milliseconds(900 + 300), "stale only after \(staleAfter)")

            // The dead producer's charts stay in every message, unchanged; the other's move.
            let messages = try await WebSocketProbe.collect(5, from: fleet.webSocketURL("g1"), within: .seconds(10)) { try? Self.sources(of: $0) }
            let held = messages.compactMap { $0 }
            #expect(held.count == 5)
            #expect(Set(held.map { $0["W-1"] }).count == 1, "a dead producer's chart changed")
            #expect(Set(held.map { $0["E-1"] }).count >= 4, "the live producer's chart stopped too")
            #expect(held.allSatisfy { $0.keys.sorted() == (Self.east + Self.west).sorted() })

            // Back: a new run of the same name takes its charts up again.
            try fleet.startProducer("west", symbols: Self.west)
            let back = try await poll("west live again", within: .seconds(15)) {
                let west = try await fleet.sources("g1")["west"]
                return west?.live == true && west?.runID != before["west"]?.runID ? west : nil
            }
            #expect(back.charts == 2)
            let after = try await WebSocketProbe.collect(3, from: fleet.webSocketURL("g1"), within: .seconds(10)) { try? Self.sources(of: $0) }
            #expect(after.compactMap { $0?["W-1"] }.allSatisfy { $0.hasPrefix(back.runID) })
        }
    }

    @Test("the broker restarted: both gateways relay again within 2 intervals of it listening")
    func brokerRestarts() async throws {
        try await Fleet.with(interval: 0.5) { fleet in
            try await fleet.startEastAndWest(gateways: [("g1", "east"), ("g2", "west")])
            #expect(await fleet.stop("broker") == 0, "the broker stops cleanly on SIGTERM")
            // Long enough for both gateways to see nothing new: what they hold then is the floor.
            try await Task.sleep(for: .seconds(1))
            var seqs: [String: UInt64] = [:]
            for gateway in ["g1", "g2"] { seqs[gateway] = try await fleet.sources(gateway)["east"]?.seq ?? 0 }
            try fleet.startBroker()
            let socket = String(fleet.broker.brokerGatewayEndpoint.dropFirst("ipc://".count))
            let listening = try await poll("the new broker to listen", within: .seconds(10)) {
                FileManager.default.fileExists(atPath: socket) ? ContinuousClock.now : nil
            }
            for gateway in ["g1", "g2"] {
                let floor = seqs[gateway]!
                _ = try await poll("\(gateway) to relay again", within: .seconds(10)) {
                    let sources = try await fleet.sources(gateway)
                    return (sources["east"]?.seq ?? 0) > floor && (sources["west"]?.live ?? false) ? true : nil
                }
                let elapsed = listening.duration(to: .now)
                print("\(gateway) relaying again \(elapsed.milliseconds) ms after the new broker listened (interval 500 ms)")
                #expect(elapsed <= .seconds(1) + .milliseconds(200), "\(gateway) relayed again only after \(elapsed)")
            }
        }
    }

    @Test(
        "writes through either gateway reach the producer that owns each symbol: a batch over two is split, a refused part leaves the other applied, a new symbol keeps one owner"
    )
    func routedWrites() async throws {
        try await Fleet.with(interval: 0.3) { fleet in
            try await fleet.startEastAndWest(gateways: [("g1", nil), ("g2", nil)])
            let runs = try await fleet.bothLive("g1").mapValues(\.runID)
            // Status: each producer's own, asked at the control socket it announces (g1 names none of its own).
            let status = try await testHTTPClient.execute(.init(url: "http://127.0.0.1:\(fleet.ports["g1"]!)/api/status"), timeout: .seconds(5))
            let statusJSON = try JSONSerialization.jsonObject(with: Data(String(buffer: try await status.body.collect(upTo: 1 << 20)).utf8)) as? [String: Any]
            let producers = (statusJSON?["producers"] as? [[String: Any]]) ?? []
            #expect(producers.compactMap { $0["name"] as? String } == ["east", "west"])
            #expect(producers.allSatisfy { ($0["status"] as? [String: Any])?["run_id"] as? String != nil }, "\(producers)")
            let t = (Date().timeIntervalSince1970 * 1000).rounded() / 1000

            // One batch, two producers: each gets its tick, and the answer says so.
            let split = try await fleet.post(
                "g1", "/api/ingest", #"{"batch_id":"split-1","ticks":[{"symbol":"E-1","t":\#(t),"price":777.25},{"symbol":"W-1","t":\#(t),"price":888.5}]}"#
            )
            #expect(split.status == 200, "\(split.json)")
            let parts = (split.json["parts"] as? [[String: Any]]) ?? []
            #expect(Set(parts.compactMap { $0["producer"] as? String }) == ["east", "west"])
            #expect((split.json["appended"] as? Int ?? 0) + (split.json["inserted"] as? Int ?? 0) + (split.json["merged"] as? Int ?? 0) == 2)
            _ = try await poll("both ticks in the other gateway's window, each in its producer's chart", within: .seconds(15)) { () -> Bool? in
                let window = try await fleet.window("g2")
                guard let east = window["E-1"], let west = window["W-1"] else { return nil }
                let eastHas = zip(east.t, east.price).contains { $0 == t && $1 == 777.25 } && east.runID == runs["east"]
                let westHas = zip(west.t, west.price).contains { $0 == t && $1 == 888.5 } && west.runID == runs["west"]
                return eastHas && westHas ? true : nil
            }

            // A bad tick in east's part: east applies nothing, west its part; the reason names the batch's position.
            let refused = try await fleet.post(
                "g2", "/api/ingest", #"{"batch_id":"split-2","ticks":[{"symbol":"W-2","t":\#(t),"price":999.75},{"symbol":"E-2","t":\#(t),"price":"high"}]}"#
            )
            #expect(refused.status == 400)
            let reason = refused.json["error"] as? String ?? ""
            #expect(reason.contains("ticks[1]") && reason.contains("east") && reason.contains("'west' were applied"), "\(reason)")
            let refusedParts = (refused.json["parts"] as? [[String: Any]]) ?? []
            #expect(refusedParts.first { $0["producer"] as? String == "west" }?["status"] as? Int == 200)
            #expect(refusedParts.first { $0["producer"] as? String == "east" }?["status"] as? Int == 400)
            _ = try await poll("west's part applied", within: .seconds(15)) { () -> Bool? in
                let chart = try await fleet.window("g1")["W-2"]
                return chart.map { zip($0.t, $0.price).contains { $0 == t && $1 == 999.75 } } == true ? true : nil
            }

            // A symbol no producer holds goes to one producer, and stays with it whichever gateway writes next.
            #expect(try await fleet.post("g1", "/api/ingest", #"{"ticks":[{"symbol":"NEW-1","t":\#(t),"price":5}]}"#).status == 200)
            let owner = try await poll("NEW-1 in the window", within: .seconds(15)) { try await fleet.window("g2")["NEW-1"]?.runID }
            #expect(owner == runs["east"] || owner == runs["west"])
            #expect(try await fleet.post("g2", "/api/ingest", #"{"ticks":[{"symbol":"NEW-1","t":\#(t + 0.5),"price":6}]}"#).status == 200)
            let both = try await poll("NEW-1's second tick", within: .seconds(15)) {
                try await fleet.window("g1")["NEW-1"].flatMap { $0.t.count == 2 ? $0 : nil }
            }
            #expect(both.runID == owner && both.price == [5, 6])
            for gateway in ["g1", "g2"] {
                #expect(try await fleet.sources(gateway).values.allSatisfy { $0.charts > 0 }, "a producer lost its charts")
            }

            // Mock data over both producers, through the other gateway: the answer comes once one message holds all of it.
            let loaded = try await fleet.post("g2", "/api/test/load_mock_data", #"{"symbols":["E-3","W-2","LM-NEW"],"points":5}"#)
            #expect(loaded.status == 200, "\(loaded.json)")
            let window = try await fleet.window("g2")
            #expect(window["LM-NEW"] != nil && window["E-3"]?.runID == runs["east"] && window["W-2"]?.runID == runs["west"])
        }
    }

    @Test("producers taking writes on tcp:// with CURVE: a gateway with a key they admit reaches both; one without a key is told why")
    func routedWritesOverCurve() async throws {
        try await Fleet.with(interval: 0.3) { fleet in
            let keys = try fleet.directory("keys")
            for name in ["east", "west", "gateway"] {
                let made = try RollcastProcess(executable: "rollcast-keygen", arguments: ["\(keys)/\(name)"], logPath: "\(keys)/\(name).log")
                #expect(await made.waitForExit(within: .seconds(15)) && made.process.terminationStatus == 0)
            }
            try fleet.startBroker()
            for (name, symbols) in [("east", Self.east), ("west", Self.west)] {
                try fleet.startProducer(name, symbols: symbols, extra: [
                    "--control-endpoint", "tcp://127.0.0.1:\(try CurveLinkTests.freePort())",
                    "--curve-secret-key", "\(keys)/\(name).key", "--curve-allow", "\(keys)/gateway.pub",
                ])
            }
            try await fleet.startGateway("g1", control: nil, extra: ["--curve-secret-key", "\(keys)/gateway.key"])
            try await fleet.startGateway("g2", control: nil)
            for gateway in ["g1", "g2"] { _ = try await fleet.bothLive(gateway) }
            let t = (Date().timeIntervalSince1970 * 1000).rounded() / 1000
            let batch = #"{"batch_id":"curve-1","ticks":[{"symbol":"E-1","t":\#(t),"price":321.5},{"symbol":"W-1","t":\#(t),"price":654.25}]}"#
            let answer = try await fleet.post("g1", "/api/ingest", batch)
            #expect(answer.status == 200, "\(answer.json)")
            #expect(((answer.json["parts"] as? [[String: Any]]) ?? []).compactMap { $0["status"] as? Int } == [200, 200])
            // Without a key of its own, the other gateway cannot reach them, and says so.
            let refused = try await fleet.post("g2", "/api/ingest", batch.replacingOccurrences(of: "curve-1", with: "curve-2"))
            #expect(refused.status == 503)
            #expect((refused.json["error"] as? String ?? "").contains("--curve-secret-key"), "\(refused.json)")
        }
    }

    @Test("two producers claiming one symbol: the chart of the first by name, in every gateway; the other's copy reported hidden, logged once; writes go to the one shown")
    func conflictingSymbol() async throws {
        try await Fleet.with(interval: 0.3) { fleet in
            try fleet.startBroker()
            try fleet.startProducer("east", symbols: ["E-1", "DUP"])
            try fleet.startProducer("west", symbols: ["W-1", "DUP"])
            try await fleet.startGateway("g1", control: nil)
            let sources = try await poll("both producers, and west's copy of DUP hidden", within: .seconds(15)) {
                let sources = try await fleet.sources("g1")
                return sources.count == 2 && sources["west"]?.hiddenSymbolsSample == ["DUP"] ? sources : nil
            }
            #expect(sources["east"]?.hiddenSymbolsSample == [])
            let window = try await fleet.window("g1")
            #expect(window.keys.sorted() == ["DUP", "E-1", "W-1"])
            #expect(window["DUP"]?.runID == sources["east"]?.runID, "DUP was not shown from east, the first by name")
            let t = (Date().timeIntervalSince1970 * 1000).rounded() / 1000
            #expect(try await fleet.post("g1", "/api/ingest", #"{"ticks":[{"symbol":"DUP","t":\#(t),"price":4242.5}]}"#).status == 200)
            _ = try await poll("the tick in the chart shown", within: .seconds(15)) { () -> Bool? in
                let chart = try await fleet.window("g1")["DUP"]
                return chart.map { $0.runID == sources["east"]?.runID && zip($0.t, $0.price).contains { $0 == t && $1 == 4242.5 } } == true ? true : nil
            }
            // Many snapshots later, the conflict was logged once, not per snapshot.
            let log = try #require(fleet.process("g1")).log
            #expect(log.components(separatedBy: "symbols claimed by several producers").count - 1 == 1, "\(log.suffix(2000))")
        }
    }
}
