import Foundation
import RollcastCore
import Testing

@testable import RollcastProducer

@Suite("Journal (real SQLite files)")
struct JournalTests {
    /// A private folder, removed afterwards.
    static func withDirectory<T>(_ body: (String) throws -> T) throws -> T {
        let directory = "/tmp/rcj-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        return try body(directory)
    }

    @Test("a chunk reads back exactly as written; damaged bytes are refused, never trusted")
    func chunkCoding() throws {
        let chunk = TickChunk(groups: [
            ("AAPL", [Tick(time: 1_796_131_255.123, price: 189.25, volume: 100), Tick(time: 1_796_131_256, price: -0.0, volume: .greatestFiniteMagnitude)]),
            ("BTC/USD", []),
        ])
        let bytes = chunk.encoded()
        #expect(bytes.count == 4 + (1 + 4 + 4 + 48) + (1 + 7 + 4))
        let decoded = try bytes.withUnsafeBytes { try TickChunk(decoding: $0) }
        #expect(decoded == chunk)
        #expect(decoded.groups[0].ticks[1].price.sign == .minus, "bit for bit, -0 included")
        for cut in [0, 3, 10, bytes.count - 1] {
            #expect(throws: TickChunk.Damaged.self) { try bytes.prefix(cut).withUnsafeBytes { try TickChunk(decoding: $0) } }
        }
        var lying = bytes
        lying[0] = 0xFF  // claims 255 groups
        #expect(throws: TickChunk.Damaged.self) { try lying.withUnsafeBytes { try TickChunk(decoding: $0) } }
    }

    @Test("windows written through the store come back the same after reopening, with their batch ids")
    func restore() throws {
        try Self.withDirectory { directory in
            let (store, _) = makeStore(window: 600, now: 1_000)
            let journal = try Journal(directory: directory)
            let pipeline = IngestPipeline(store: store, rules: TickRules(), journal: journal)
            var generator = SplitMix64(seed: 5)
            for number in 0..<200 {
                let ticks = (0..<50).map { _ in
                    #"{"symbol":"S\#(UInt64.random(in: 0..<7, using: &generator))","t":\#(500 + Double(UInt64.random(in: 0..<400, using: &generator)) / 2),"price":\#(UInt64.random(in: 1...99, using: &generator)),"volume":1}"#
                }
                _ = try pipeline.ingest(Array(#"{"batch_id":"n\#(number)","ticks":[\#(ticks.joined(separator: ","))]}"#.utf8), from: .socket)
            }
            let before = store.takeSnapshot().series

            let (again, _) = makeStore(window: 600, now: 1_000)
            let reopened = try Journal(directory: directory)
            let restored = try reopened.restore(batchIDsSince: 0) { again.restore($0) }
            #expect(restored.chunks == 200 && restored.ticks == 10_000 && restored.batches.count == 200)
            let after = again.takeSnapshot().series
            #expect(after.map(\.symbol) == before.map(\.symbol))
            for (a, b) in zip(after, before) { #expect(a.ticks == b.ticks, "\(a.symbol)") }

            var ledger = BatchLedger()
            for entry in restored.batches { ledger.record(entry.id, result: entry.result, now: entry.appliedAt) }
            let retry = IngestPipeline(store: again, rules: TickRules(), journal: reopened, ledger: ledger)
            let duplicate = try retry.ingest(Array(#"{"batch_id":"n7","ticks":[{"symbol":"S1","t":900,"price":1}]}"#.utf8), from: .http)
            #expect(duplicate.duplicate == true)
            #expect(again.takeSnapshot().series.flatMap(\.ticks).count == after.flatMap(\.ticks).count, "the retry applied nothing")
        }
    }

    @Test("pruning drops what left every window; compaction rewrites merged and capped history as the windows hold it")
    func bounded() throws {
        try Self.withDirectory { directory in
            let (store, clock) = makeStore(window: 100, maxTicks: 1_000, now: 1_000)
            let journal = try Journal(directory: directory)
            let pipeline = IngestPipeline(store: store, rules: TickRules(), journal: journal)
            let upkeep = JournalUpkeep(journal: journal, store: store, logger: .init(label: "test"))
            // 300 batches of 1,000 ticks on one symbol: every tick merges into one of 1,000 times.
            for number in 0..<300 {
                let ticks = (0..<1_000).map { #"{"symbol":"M","t":\#(950 + Double($0) / 20),"price":\#(number),"volume":1}"# }
                _ = try pipeline.ingest(Array(#"{"ticks":[\#(ticks.joined(separator: ","))]}"#.utf8), from: .socket)
            }
            #expect(journal.counters.ticks == 300_000)
            upkeep.upkeep()
            #expect(journal.counters.ticks == 1_000, "compacted to what the window holds")
            let (again, _) = makeStore(window: 100, maxTicks: 1_000, now: 1_000)
            _ = try Journal(directory: directory).restore(batchIDsSince: 0) { again.restore($0) }
            #expect(again.takeSnapshot().series[0].ticks == store.takeSnapshot().series[0].ticks)
            #expect(again.takeSnapshot().series[0].ticks.allSatisfy { $0.volume == 300 && $0.price == 299 })

            // Once the clock leaves every tick a window behind, the rows go.
            clock.set(1_200)
            upkeep.upkeep()
            #expect(journal.counters.ticks == 0)
        }
    }

    @Test("a file that is not a journal stops the start with one line naming it")
    func corrupt() throws {
        try Self.withDirectory { directory in
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
            try Data((0..<4_096).map { UInt8(truncatingIfNeeded: $0 &* 7919) }).write(to: URL(fileURLWithPath: "\(directory)/rollcast.sqlite"))
            #expect(throws: Journal.Failure.self) { try Journal(directory: directory) }
            do {
                _ = try Journal(directory: directory)
            } catch {
                #expect("\(error)" == "database \(directory)/rollcast.sqlite cannot be used: file is not a database")
            }
        }
    }
}
