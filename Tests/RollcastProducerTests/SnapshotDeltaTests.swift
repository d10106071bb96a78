import Foundation
import RollcastCore
import Testing

@testable import RollcastProducer

/// The delta stream's promise: applying each delta to the previous full message gives the next
/// full message's charts exactly, whatever the ticks did.
@Suite("Snapshot deltas")
struct SnapshotDeltaTests {
    @Test(
        "random ticks (appends, late inserts, merges, evictions, symbols coming and going, restarts), downsampling off and on: every delta reproduces the next full message",
        arguments: [(seed: UInt64(1), maxPoints: 0), (2, 0), (3, 40), (4, 40), (5, 5)]
    )
    func deltasReproduceFullMessages(seed: UInt64, maxPoints: Int) throws {
        var random = SplitMix64(seed: seed)
        let symbols = ["A", "B", "C", "D", "E", "F"]
        var (store, clock) = makeStore(window: 20, maxSymbols: 6, maxPoints: maxPoints, maxTicks: 120, forgetAfter: 6, now: 1_000)
        let encoder = SnapshotEncoder()
        let decoder = JSONDecoder()
        var previous: (seq: UInt64, series: [SeriesSnapshot])?
        // What a reader of the delta stream holds.
        var reader = DeltaStreamCharts()
        var deltasChecked = 0
        var shapes = (drops: 0, replaces: 0, added: 0, removed: 0)
        for step in 0..<400 {
            if step % 150 == 149 {
                // A producer restart: a new run, whose first message is full.
                (store, clock) = makeStore(window: 20, maxSymbols: 6, maxPoints: maxPoints, maxTicks: 120, forgetAfter: 6, now: clock.now())
                previous = nil
                reader = DeltaStreamCharts()
            }
            clock.set(clock.now() + Double(random.next() % 1_500) / 1_000)
            let now = clock.now()
            var ticks: [IncomingTick] = []
            // Phases of more and fewer symbols: the idle ones empty out and are forgotten.
            let active = symbols.prefix((step / 40) % symbols.count + 1)
            for _ in 0..<Int(random.next() % 8) {
                let symbol = active.randomElement(using: &random)!
                let t: Double
                switch random.next() % 10 {
                case 0...5: t = now  // appends, and merges when two share it
                case 6...7: t = now - Double(random.next() % 15_000) / 1_000  // late
                case 8: t = now - 25  // too old
                default: t = (now - 3).rounded()  // a repeated time: merges
                }
                ticks.append(IncomingTick(symbol: symbol, t: t, price: Double(random.next() % 10_000) / 100, volume: Double(random.next() % 5)))
            }
            if !ticks.isEmpty { _ = try? store.ingest(ticks) }
            let (seq, series) = store.takeSnapshot()
            let header = SnapshotHeader(seq: seq, runID: store.runID, generatedAt: Int64(now * 1_000), intervalMilliseconds: 1_000, charts: series.count)
            let full = try decoder.decode([ChartObject].self, from: Data(encoder.encode(series, header: header, windowSeconds: 20)))
            if let previous {
                let delta = SnapshotDelta.between(previous.series, series)
                let bytes = encoder.encodeDelta(delta, header: header, baseSeq: previous.seq, windowSeconds: 20)
                #expect(String(decoding: bytes.prefix(80), as: UTF8.self).hasPrefix(#"{"kind":"delta","seq":\#(seq),"run_id":"run","generated_at":"#))
                let decoded = try decoder.decode(DeltaStreamMessage.self, from: Data(bytes))
                guard case .delta(let message) = decoded else {
                    Issue.record("seq \(seq): the producer's delta part decoded as a full message")
                    continue
                }
                #expect(message.seq == seq && message.baseSeq == previous.seq)
                try reader.apply(decoded)
                let rebuilt = reader.sorted
                #expect(rebuilt.count == full.count)
                for (mine, theirs) in zip(rebuilt, full) {
                    #expect(mine.samePoints(as: theirs), "seq \(seq), \(theirs.symbol): rebuilt \(mine.t.count) points, full \(theirs.t.count)")
                    #expect(mine == theirs, "every field of \(theirs.symbol) at seq \(seq)")
                }
                deltasChecked += 1
                shapes.drops += delta.changes.filter { $0.drop > 0 }.count
                shapes.replaces += delta.changes.filter { $0.replace > 0 }.count
                shapes.added += delta.added.count
                shapes.removed += delta.removed.count
            }
            previous = (seq, series)
            if reader.seq == nil { try reader.apply(.full(seq: seq, runID: store.runID, charts: full)) }
        }
        #expect(deltasChecked > 390)
        // The stream exercised every kind of change.
        #expect(shapes.drops > 0 && shapes.replaces > 0 && shapes.added > 0 && shapes.removed > 0, "\(shapes)")
    }

    @Test("a snapshot that changed nothing gives an empty delta; one new tick gives one appended point")
    func smallDeltas() throws {
        let (store, clock) = makeStore(window: 60, now: 1_000)
        _ = try store.ingest([IncomingTick(symbol: "A", t: 990, price: 1), IncomingTick(symbol: "A", t: 995, price: 2)])
        let first = store.takeSnapshot().series
        let unchanged = SnapshotDelta.between(first, store.takeSnapshot().series)
        #expect(unchanged.changes.isEmpty && unchanged.added.isEmpty && unchanged.removed.isEmpty)
        clock.set(1_001)
        _ = try store.ingest([IncomingTick(symbol: "A", t: 1_001, price: 3)])
        let delta = SnapshotDelta.between(first, store.takeSnapshot().series)
        #expect(delta.changes.count == 1)
        #expect(delta.changes[0].drop == 0 && delta.changes[0].replace == 0 && delta.changes[0].appended.map(\.price) == [3])
    }
}
