import Foundation
import RollcastCore
import Synchronization
import Testing
import ZeroMQ

@Suite("Persistence", .serialized, .timeLimit(.minutes(3)))
struct PersistenceTests {
    static func arguments(_ dataDirectory: String) -> [String] {
        ["--no-mock-feed", "--interval", "0.5", "--max-points", "0", "--data-dir", dataDirectory]
    }

    @Test("SIGKILL under ingest load over HTTP and the ingest socket: after a restart every acknowledged tick is back")
    func killUnderLoad() async throws {
        let dataDirectory = "/tmp/rcd-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: dataDirectory) }
        try await RollcastStack.with(producerArguments: Self.arguments(dataDirectory)) { stack in
            try await stack.waitUntilReady()
            let start = Date().timeIntervalSince1970 - 250
            // Each tick its own time, so what comes back can be checked tick by tick.
            func batch(_ number: Int, symbol: String, size: Int) -> String {
                let ticks = (0..<size).map { index in
                    #"{"symbol":"\#(symbol)","t":\#(start + Double(number * size + index) * 0.001),"price":\#(number),"volume":\#(index)}"#
                }
                return #"{"batch_id":"\#(symbol)-\#(number)","ticks":[\#(ticks.joined(separator: ","))]}"#
            }

            // The ingest socket: 60 batches of 1,000 pushed at once; applied = acknowledged.
            let pusher = try Pusher(endpoint: stack.ingestEndpoint)
            let pushed = Task.detached {
                for number in 0..<60 { _ = try? pusher.socket.send(Array(batch(number, symbol: "ZMQ", size: 1_000).utf8)) }
            }
            // HTTP, at the same time: every 200 is an acknowledgement.
            let acknowledged = Mutex<[Int]>([])
            let posting = Task {
                for number in 0..<10_000 {
                    guard let answer = try? await stack.request(.POST, "/api/ingest", body: batch(number, symbol: "HTTP", size: 20), timeout: .seconds(3)),
                        answer.status == .ok
                    else { return }
                    acknowledged.withLock { $0.append(number) }
                }
            }
            // Kill once both doors have work acknowledged, while both are still busy.
            let (applied, firstRun) = try await poll("acknowledged ingest through both doors", within: .seconds(30)) { () -> (Int, String)? in
                guard acknowledged.withLock({ $0.count }) >= 20, let status = try await stack.producerStatus(), status.ingest.socket.batches >= 10 else { return nil }
                return (status.ingest.socket.batches, status.runID)
            }
            let producer = try #require(stack.producer)
            kill(producer.pid, SIGKILL)
            #expect(await producer.waitForExit(within: .seconds(5)))
            posting.cancel()
            await pushed.value
            pusher.socket.close()
            let httpAcknowledged = acknowledged.withLock { $0 }

            try stack.startProducer()
            // Until then the gateway serves its copy of the killed run's last snapshot.
            let window = try await poll("the restarted producer's first snapshot", within: .seconds(10)) { () -> [ChartObject]? in
                let charts = try await stack.window()
                return charts.first.map { $0.runID != firstRun } == true ? charts : nil
            }
            let http = try #require(window.first { $0.symbol == "HTTP" })
            let zmq = try #require(window.first { $0.symbol == "ZMQ" })
            let httpTimes = Set(http.t)
            let lostHTTP = httpAcknowledged.filter { number in (0..<20).contains { !httpTimes.contains(start + Double(number * 20 + $0) * 0.001) } }
            #expect(lostHTTP.isEmpty, "HTTP batches acknowledged but not back: \(lostHTTP) of \(httpAcknowledged.count); \(http.t.count) ticks back")
            // The socket applies batches in the order they were pushed: the first `applied` are acknowledged.
            let zmqTimes = Set(zmq.t)
            let lostZMQ = (0..<applied * 1_000).filter { !zmqTimes.contains(start + Double($0) * 0.001) }.count
            #expect(lostZMQ == 0, "ZMQ: \(lostZMQ) of \(applied * 1_000) acknowledged ticks not back; \(zmq.t.count) ticks back")
            #expect(!httpAcknowledged.isEmpty && applied >= 10)

            // A retry of an acknowledged batch after the restart is still a duplicate.
            let retry = try await stack.ingest(batch(httpAcknowledged[0], symbol: "HTTP", size: 20))
            #expect(retry.duplicate == true)
            let status = try #require(try await stack.producerStatus())
            #expect(status.persistence?.restoredTicks ?? 0 >= httpAcknowledged.count * 20 + applied * 1_000)
        }
    }

    @Test("a journal that cannot grow (a file-size limit, as a full disk): the batch that cannot be made durable gets 503, the producer stops for its supervisor, and every batch that got 200 is back after a restart")
    func journalCannotGrow() async throws {
        let dataDirectory = "/tmp/rcd-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: dataDirectory) }
        let stack = try RollcastStack(producerArguments: Self.arguments(dataDirectory))
        defer { try? FileManager.default.removeItem(atPath: stack.runDirectory) }
        // 2 MiB per file: the journal fills it within a few hundred batches.
        try stack.startProducer(fileSizeLimit: 2 << 20)
        try await stack.startGateway()
        do {
            try await stack.waitUntilReady()
            let start = Date().timeIntervalSince1970 - 250
            func batch(_ number: Int) -> String {
                let ticks = (0..<100).map { index in #"{"symbol":"FULL","t":\#(start + Double(number * 100 + index) * 0.001),"price":\#(number),"volume":1}"# }
                return #"{"batch_id":"full-\#(number)","ticks":[\#(ticks.joined(separator: ","))]}"#
            }
            var acknowledged: [Int] = []
            var refusal: RollcastStack.HTTPAnswer?
            for number in 0..<5_000 {
                let answer = try await stack.request(.POST, "/api/ingest", body: batch(number))
                guard answer.status == .ok else {
                    refusal = answer
                    break
                }
                acknowledged.append(number)
            }
            let refused = try #require(refusal, "5,000 batches of 100 ticks fitted under a 2 MiB file-size limit")
            #expect(refused.status == .serviceUnavailable)
            #expect(refused.errorReason?.hasPrefix("the batch could not be made durable and was not acknowledged: the data directory cannot be written") == true, "\(refused.body)")
            #expect(refused.errorReason?.hasSuffix("; the producer is stopping") == true)
            let producer = try #require(stack.producer)
            #expect(await producer.waitForExit(within: .seconds(10)), "the producer kept running with a journal it cannot write")
            #expect(producer.process.terminationReason == .exit && producer.process.terminationStatus != 0, "it stopped with an error, not a signal")
            #expect(producer.log.contains("producer stopping"), "\(producer.log.suffix(2000))")

            // Space again: a restart reads back every acknowledged batch, and none that was refused.
            try stack.startProducer()
            let chart = try await poll("the restarted producer's FULL chart", within: .seconds(15)) { () -> ChartObject? in
                try await stack.window().first { $0.symbol == "FULL" && $0.t.count >= acknowledged.count * 100 }
            }
            let times = Set(chart.t)
            let lost = acknowledged.filter { number in (0..<100).contains { !times.contains(start + Double(number * 100 + $0) * 0.001) } }
            #expect(lost.isEmpty, "acknowledged batches not back: \(lost.prefix(10)) of \(acknowledged.count)")
            #expect(acknowledged.count > 10, "only \(acknowledged.count) batches fitted")
            #expect(try await stack.ingest(batch(acknowledged.count)).duplicate == nil, "the refused batch was not applied, so its retry is not a duplicate")
            await stack.tearDown()
        } catch {
            for process in [stack.producer, stack.gateway].compactMap({ $0 }) {
                FileHandle.standardError.write(Data("--- \(process.name) log\n\(process.log.suffix(4000))\n".utf8))
            }
            await stack.tearDown()
            throw error
        }
    }

    @Test("a database file that is not one stops the producer with a one-line error naming the file")
    func corruptDatabase() async throws {
        let dataDirectory = "/tmp/rcd-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: dataDirectory) }
        try Data(repeating: 0x5A, count: 8_192).write(to: URL(fileURLWithPath: "\(dataDirectory)/rollcast.sqlite"))
        let stack = try RollcastStack(producerArguments: Self.arguments(dataDirectory))
        defer { try? FileManager.default.removeItem(atPath: stack.runDirectory) }
        try stack.startProducer()
        let producer = try #require(stack.producer)
        #expect(await producer.waitForExit(within: .seconds(10)))
        #expect(producer.process.terminationStatus != 0)
        let lines = producer.log.split(separator: "\n")
        #expect(lines == ["Error: database \(dataDirectory)/rollcast.sqlite cannot be used: file is not a database"], "\(producer.log)")
    }
}
