import Foundation
import NIOCore
import RollcastCore
import RollcastProducer
import Testing

@testable import RollcastGateway

/// A producer as the merger sees it: its series, encoded by the producer's own encoder, with
/// the delta from its previous snapshot.
struct FakeProducer {
    let name: String
    var runID: String
    var seq: UInt64 = 0
    var series: [String: [Tick]] = [:]
    var previous: [SeriesSnapshot]?

    init(name: String, runID: String) {
        self.name = name
        self.runID = runID
    }

    mutating func restart(runID: String) {
        self.runID = runID
        seq = 0
        previous = nil
    }

    /// The next snapshot: header, payload and (after the first of a run) delta.
    mutating func snapshot(at now: Double) -> (header: SnapshotHeader, payload: ByteBuffer, delta: ByteBuffer?) {
        seq += 1
        let current = series.keys.sorted().map { SeriesSnapshot(symbol: $0, ticks: series[$0]!) }
        var header = SnapshotHeader(
            seq: seq, runID: runID, generatedAt: Int64(now * 1_000), intervalMilliseconds: 1_000, charts: current.count, producer: name
        )
        let encoder = SnapshotEncoder()
        let payload = ByteBuffer(bytes: encoder.encode(current, header: header, windowSeconds: 60))
        var delta: ByteBuffer?
        if let previous {
            header.deltaBaseSeq = seq - 1
            delta = ByteBuffer(bytes: encoder.encodeDelta(SnapshotDelta.between(previous, current), header: header, baseSeq: seq - 1, windowSeconds: 60))
        }
        previous = current
        return (header, payload, delta)
    }
}

func charts(_ buffer: ByteBuffer) throws -> [ChartObject] {
    try JSONDecoder().decode([ChartObject].self, from: Data(buffer.readableBytesView))
}

func publish(_ outcome: SnapshotMerger.Outcome) -> MergedSnapshot? {
    if case .publish(let merged) = outcome { return merged }
    return nil
}

@Suite("Snapshot merger")
struct SnapshotMergerTests {
    @Test("one producer: its message, header and delta pass through byte for byte")
    func passThrough() throws {
        var merger = SnapshotMerger(forgetAfter: .seconds(60))
        var producer = FakeProducer(name: "a", runID: "0000000a")
        producer.series = ["X": [Tick(time: 1, price: 2)]]
        let first = producer.snapshot(at: 1)
        _ = merger.accept(header: first.header, payload: first.payload, delta: nil, receivedAt: .now)
        producer.series["X"]!.append(Tick(time: 2, price: 3))
        let next = producer.snapshot(at: 2)
        let merged = try #require(publish(merger.accept(header: next.header, payload: next.payload, delta: next.delta, receivedAt: .now)))
        #expect(merged.header == next.header)
        #expect(merged.payload == next.payload)
        #expect(merged.delta == next.delta)
    }

    @Test("two producers: every chart of both in symbol order, each as its producer wrote it; the same bytes whichever arrives first")
    func mergesInSymbolOrder() throws {
        var a = FakeProducer(name: "east", runID: "000000aa")
        var b = FakeProducer(name: "west", runID: "000000bb")
        a.series = ["B": [Tick(time: 1, price: 1)], "D": [Tick(time: 1, price: 2)]]
        b.series = ["A": [Tick(time: 1, price: 3)], "C": [Tick(time: 1, price: 4)], "E": []]
        let fromA = a.snapshot(at: 1)
        let fromB = b.snapshot(at: 1)
        var first = SnapshotMerger(forgetAfter: .seconds(60))
        _ = first.accept(header: fromA.header, payload: fromA.payload, delta: nil, receivedAt: .now)
        let one = try #require(publish(first.accept(header: fromB.header, payload: fromB.payload, delta: nil, receivedAt: .now)))
        var second = SnapshotMerger(forgetAfter: .seconds(60))
        _ = second.accept(header: fromB.header, payload: fromB.payload, delta: nil, receivedAt: .now)
        let other = try #require(publish(second.accept(header: fromA.header, payload: fromA.payload, delta: nil, receivedAt: .now)))
        #expect(one.payload == other.payload)
        #expect(one.header == other.header)
        let merged = try charts(one.payload)
        #expect(merged.map(\.symbol) == ["A", "B", "C", "D", "E"])
        #expect(merged.map(\.runID) == ["000000bb", "000000aa", "000000bb", "000000aa", "000000bb"])
        #expect(one.header.seq == 2 && one.header.charts == 5 && one.header.runID.count == 8)
        #expect(one.sources.map(\.name) == ["east", "west"])
        // Each chart object is its producer's bytes, untouched.
        let text = String(buffer: one.payload)
        for chart in try charts(fromA.payload) + charts(fromB.payload) {
            let original = String(buffer: fromA.payload) + String(buffer: fromB.payload)
            let start = try #require(original.range(of: #"{"symbol":"\#(chart.symbol)""#)).lowerBound
            let object = original[start...].prefix { $0 != "}" } + "}"
            #expect(text.contains(object))
        }
    }

    @Test("a symbol two producers claim is shown from the producer whose name sorts first, whichever sent last; the other's is reported hidden")
    func conflicts() throws {
        var a = FakeProducer(name: "alpha", runID: "0000000a")
        var b = FakeProducer(name: "beta", runID: "0000000b")
        a.series = ["SAME": [Tick(time: 1, price: 1)]]
        b.series = ["SAME": [Tick(time: 1, price: 99)], "ONLY-B": [Tick(time: 1, price: 5)]]
        var merger = SnapshotMerger(forgetAfter: .seconds(60))
        let fromA = a.snapshot(at: 1)
        _ = merger.accept(header: fromA.header, payload: fromA.payload, delta: nil, receivedAt: .now)
        for step in 1...3 {
            let fromB = b.snapshot(at: Double(step))
            let merged = try #require(publish(merger.accept(header: fromB.header, payload: fromB.payload, delta: fromB.delta, receivedAt: .now)))
            let shown = try charts(merged.payload)
            #expect(shown.map(\.symbol) == ["ONLY-B", "SAME"])
            #expect(shown[1].price == [1] && shown[1].runID == "0000000a")
            #expect(merged.sources.map(\.hiddenSymbols) == [[], ["SAME"]])
            // A producer in conflict never gets a delta: it could not say which copy changed.
            #expect(merged.delta == nil)
        }
    }

    @Test("a snapshot held already is a duplicate; a silent producer is forgotten; a producer past the maximum is refused")
    func bounds() throws {
        var merger = SnapshotMerger(forgetAfter: .seconds(10))
        merger.maxProducers = 2
        var a = FakeProducer(name: "a", runID: "0000000a")
        var b = FakeProducer(name: "b", runID: "0000000b")
        var c = FakeProducer(name: "c", runID: "0000000c")
        a.series = ["A": [Tick(time: 1, price: 1)]]
        b.series = ["B": [Tick(time: 1, price: 1)]]
        c.series = ["C": [Tick(time: 1, price: 1)]]
        let start = ContinuousClock.now
        let fromA = a.snapshot(at: 1)
        #expect(publish(merger.accept(header: fromA.header, payload: fromA.payload, delta: nil, receivedAt: start)) != nil)
        guard case .duplicate = merger.accept(header: fromA.header, payload: fromA.payload, delta: nil, receivedAt: start) else {
            Issue.record("the same snapshot again was not a duplicate")
            return
        }
        let fromB = b.snapshot(at: 1)
        _ = merger.accept(header: fromB.header, payload: fromB.payload, delta: nil, receivedAt: start + .seconds(5))
        let fromC = c.snapshot(at: 1)
        guard case .refused(let reason) = merger.accept(header: fromC.header, payload: fromC.payload, delta: nil, receivedAt: start + .seconds(6)) else {
            Issue.record("a third producer was taken past the maximum of 2")
            return
        }
        #expect(reason.contains("maximum of 2 producers"))
        // Eleven seconds after a's last snapshot, b's next one leaves a out.
        let later = b.snapshot(at: 2)
        let merged = try #require(publish(merger.accept(header: later.header, payload: later.payload, delta: later.delta, receivedAt: start + .seconds(11))))
        #expect(merged.forgotten == ["a"])
        #expect(try charts(merged.payload).map(\.symbol) == ["B"])
        // Beside another producer, charts whose first key is not the symbol are refused, nothing published
        // (a producer alone passes through whole: nothing needs cutting).
        var bad = fromC.header
        bad.seq += 1
        guard case .refused = merger.accept(header: bad, payload: ByteBuffer(string: #"[{"seq":1,"symbol":"C"}]"#), delta: nil, receivedAt: .now) else {
            Issue.record("a chart without its symbol first was merged")
            return
        }
    }

    @Test(
        "random ticks on three producers (appends, evictions, late ticks, symbols coming and going, restarts, a producer silent): a delta-stream reader of the merged messages holds every merged full message exactly",
        arguments: [UInt64(1), 2, 3]
    )
    func deltasReproduceMergedMessages(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        var producers = [
            FakeProducer(name: "p1", runID: "10000000"), FakeProducer(name: "p2", runID: "20000000"), FakeProducer(name: "p3", runID: "30000000"),
        ]
        let symbols = [["A1", "A2", "A3"], ["B1", "B2"], ["C1", "C2", "C3", "C4"]]
        var merger = SnapshotMerger(forgetAfter: .seconds(30))
        var reader = DeltaStreamCharts()
        let start = ContinuousClock.now
        var (deltas, fulls) = (0, 0)
        for step in 1...600 {
            let now = Double(step)
            // p3 is silent from step 200 to 260: forgotten after 30 s, then back.
            let index = Int(random.next() % 3)
            if index == 2, (200..<260).contains(step) { continue }
            if random.next() % 50 == 0 { producers[index].restart(runID: String(format: "%08x", random.next() % 0xffff_ffff)) }
            for symbol in symbols[index] where random.next() % 3 != 0 {
                var ticks = producers[index].series[symbol] ?? []
                switch random.next() % 10 {
                case 0: ticks.removeAll()  // the symbol goes
                case 1: if ticks.count > 2 { ticks.removeFirst(2) }  // evictions
                case 2: if let last = ticks.popLast() { ticks.append(Tick(time: last.time, price: last.price + 1)) }  // a merge changes the tail
                default: ticks.append(Tick(time: now + Double(index) / 10, price: Double(random.next() % 10_000) / 100, volume: 1))
                }
                producers[index].series[symbol] = ticks.isEmpty ? nil : ticks
            }
            let snapshot = producers[index].snapshot(at: now)
            let receivedAt = start + .seconds(step)
            let merged = try #require(publish(merger.accept(header: snapshot.header, payload: snapshot.payload, delta: snapshot.delta, receivedAt: receivedAt)))
            let full = try charts(merged.payload)
            // The reader holds every message published so far: a delta must sit on the last one.
            if merged.delta != nil {
                #expect(reader.runID == merged.header.runID && reader.seq == merged.header.deltaBaseSeq, "step \(step): a delta not on the last message")
            }
            if let delta = merged.delta, reader.runID == merged.header.runID, reader.seq == merged.header.deltaBaseSeq {
                let message = try JSONDecoder().decode(DeltaStreamMessage.self, from: Data(delta.readableBytesView))
                let prefix = String(decoding: delta.readableBytesView.prefix(60), as: UTF8.self)
                #expect(prefix.hasPrefix(#"{"kind":"delta","seq":\#(merged.header.seq),"run_id":"\#(merged.header.runID)","#))
                try reader.apply(message)
                deltas += 1
            } else {
                try reader.apply(.full(seq: merged.header.seq, runID: merged.header.runID, charts: full))
                fulls += 1
            }
            #expect(reader.sorted == full, "step \(step): the reader's charts differ from the merged full message")
        }
        // Most messages could be deltas; restarts, joins and forgetting needed full ones.
        #expect(deltas > 400 && fulls > 3, "\(deltas) deltas, \(fulls) full")
    }
}
