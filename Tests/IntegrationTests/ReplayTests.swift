import Foundation
import RollcastCore
import Testing

@Suite("Replay", .serialized, .timeLimit(.minutes(2)))
struct ReplayTests {
    static let example = "\(TestEnvironment.repositoryRoot)/docs/examples/hourly-prices.csv"

    /// The example's rows, read plainly: it has no quotes, times are `YYYY-MM-DD HH:MM` in UTC.
    static func exampleRows() throws -> [(t: Double, symbol: String, price: Double, volume: Double)] {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm"
        return try String(contentsOfFile: example, encoding: .utf8).split(whereSeparator: \.isNewline).dropFirst().map { line in
            let fields = line.split(separator: ",").map(String.init)
            return (try #require(formatter.date(from: fields[0])).timeIntervalSince1970, fields[1], Double(fields[2])!, Double(fields[3])!)
        }
    }

    @Test("the example replays at full speed and the final windows are the file's last day, on the file's clock")
    func exampleAtFullSpeed() async throws {
        try await RollcastStack.with(producerArguments: ["--replay", Self.example, "--speed", "max", "--window", "86400", "--interval", "0.5"]) { stack in
            try await stack.waitUntilReady()
            let status = try await poll("the replay to finish", within: .seconds(10)) { () -> ProducerStatus? in
                guard let status = try await stack.producerStatus(), status.replay?.finished == true else { return nil }
                return status
            }
            let rows = try Self.exampleRows()
            let last = rows.map(\.t).max()!
            #expect(status.clock == "replay" && status.clockTime == last, "the clock stops at the file's last row")
            #expect(status.replay?.rows == rows.count && status.replay?.applied == rows.count)
            let charts = try await poll("a snapshot after the replay", within: .seconds(15)) { () -> [ChartObject]? in
                let charts = try await stack.window()
                return charts.first.map { $0.seq > status.seq } == true ? charts : nil
            }
            #expect(charts.map(\.symbol) == ["ACME", "GLOBEX", "INITECH"])
            for chart in charts {
                // A window of 86,400 s on a clock at the last row: that row and the 24 hours before it, both ends included.
                let expected = rows.filter { $0.symbol == chart.symbol && $0.t >= last - 86_400 }
                #expect(chart.t == expected.map(\.t), "\(chart.symbol)")
                #expect(chart.price == expected.map(\.price), "\(chart.symbol)")
                #expect(chart.volume == expected.map(\.volume), "\(chart.symbol)")
            }
        }
    }

    @Test("at --speed N the replay clock runs N times the wall clock; --loop starts the file again")
    func speedAndLoop() async throws {
        // 72 hours of rows at 36,000×: 7.2 s a pass.
        try await RollcastStack.with(producerArguments: ["--replay", Self.example, "--speed", "36000", "--loop", "--window", "86400", "--interval", "0.5"]) { stack in
            try await stack.waitUntilReady()
            // Measured over 2 s within one pass: a pass is 7.2 s, and one that ends inside the
            // 2 s (on a loaded machine the start can take seconds) turns the clock back; then again.
            var first = try #require(try await stack.producerStatus())
            var second = first
            var wall = 0.0
            for _ in 0..<3 {
                first = try #require(try await stack.producerStatus())
                let started = ContinuousClock.now
                try await Task.sleep(for: .seconds(2))
                second = try #require(try await stack.producerStatus())
                wall = Double(started.duration(to: .now).milliseconds) / 1_000
                if second.replay?.loops == first.replay?.loops { break }
            }
            let rate = (second.clockTime - first.clockTime) / wall
            // Loose bounds: a loaded machine answers status late, which stretches wall time.
            #expect(rate > 36_000 * 0.5 && rate < 36_000 * 1.5, "replay clock ran \(rate)× the wall clock")
            #expect(second.replay!.applied > first.replay!.applied)
            let looped = try await poll("a second pass", within: .seconds(20)) { () -> ProducerStatus? in
                guard let status = try await stack.producerStatus(), status.replay?.loops ?? 0 >= 1, status.clockTime < second.clockTime else { return nil }
                return status
            }
            #expect(looped.replay?.finished == true)
        }
    }

    @Test("a bad row stops the producer before it starts, with FILE:LINE: reason and a non-zero exit")
    func badRow() async throws {
        let file = "/tmp/rcr-\(UUID().uuidString.prefix(8)).csv"
        try Data("t,symbol,price\n2010-01-01 00:00,A,1\n2010-01-01 01:00,A,one\n".utf8).write(to: URL(fileURLWithPath: file))
        defer { try? FileManager.default.removeItem(atPath: file) }
        let stack = try RollcastStack(producerArguments: ["--replay", file])
        defer { try? FileManager.default.removeItem(atPath: stack.runDirectory) }
        try stack.startProducer()
        let producer = try #require(stack.producer)
        #expect(await producer.waitForExit(within: .seconds(10)))
        #expect(producer.process.terminationStatus != 0)
        #expect(producer.log.split(separator: "\n").last == "Error: \(file):3: price 'one' is not a number", "\(producer.log)")
    }
}
