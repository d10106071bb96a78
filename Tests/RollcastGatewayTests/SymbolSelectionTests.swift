import Foundation
import NIOCore
import RollcastCore
import RollcastProducer
import Testing

@testable import RollcastGateway

@Suite("Symbol selections")
struct SymbolSelectionTests {
    @Test("a list of symbols and prefixes: read in any order, equal when the same; every refusal names its entry")
    func parsing() throws {
        let selection = try SymbolSelection.parse("MSFT,FX:*,AAPL,MSFT")
        #expect(selection == (try SymbolSelection.parse("FX:*,AAPL,MSFT")))
        #expect(selection.description == "AAPL,MSFT,FX:*")
        #expect(selection.matches("AAPL") && selection.matches("FX:EURUSD") && selection.matches("FX:"))
        #expect(!selection.matches("AAP") && !selection.matches("NVDA") && !selection.matches("fx:EURUSD"))
        #expect(try SymbolSelection.parse("*").matches("ANYTHING"))

        let refusals: [(String, String)] = [
            ("A,,B", "symbols entry 2 (''): symbol must not be empty"),
            ("A B", "symbols entry 1 ('A B'): symbol 'A B' may hold only letters, digits and . _ - : /"),
            ("A*B*", "symbols entry 1 ('A*B*'): * may only end an entry"),
            ("*A", "symbols entry 1 ('*A'): symbol '*A' may hold only letters, digits and . _ - : /"),
            (" A", "symbols entry 1 (' A'): a symbol must not begin or end with a space"),
            ("FX:\"*", "symbols entry 1 ('FX:\"*'): symbol 'FX:\"' may hold only letters, digits and . _ - : /"),
            (String(repeating: "X", count: 33), "symbols entry 1 ('\(String(repeating: "X", count: 33))'): symbol '\(String(repeating: "X", count: 33))' is longer than 32 bytes"),
            (Array(repeating: "A", count: 257).joined(separator: ","), "symbols may name at most 256 entries, not 257"),
        ]
        for (list, reason) in refusals {
            #expect(throws: SymbolSelection.Refusal(description: reason), "\(list.prefix(20))") { try SymbolSelection.parse(list) }
        }
    }

    @Test("the query of an upgrade: none is every symbol; percent-encoding read; an empty or repeated list refused")
    func query() throws {
        #expect(try SymbolSelection.fromQuery(of: "/ws/realtime_charts") == nil)
        #expect(try SymbolSelection.fromQuery(of: "/ws/realtime_charts?access_token=x") == nil)
        #expect(try SymbolSelection.fromQuery(of: "/ws/realtime_charts?symbols=FX%3A*,AAPL&x=1") == (try SymbolSelection.parse("AAPL,FX:*")))
        #expect(throws: SymbolSelection.Refusal(description: "symbols must name at least one symbol or prefix")) {
            try SymbolSelection.fromQuery(of: "/ws/realtime_charts?symbols=")
        }
        #expect(throws: SymbolSelection.Refusal(description: "give symbols once, as one comma-separated list")) {
            try SymbolSelection.fromQuery(of: "/ws/realtime_charts?symbols=A&symbols=B")
        }
        #expect(throws: SymbolSelection.Refusal(description: "symbols is not valid percent-encoding")) {
            try SymbolSelection.fromQuery(of: "/ws/realtime_charts?symbols=%zz")
        }
    }

    @Test("the distinct selections are bounded; a held one is always taken; the last client out frees its place")
    func bound() throws {
        let sets = SubscriptionSets(limit: 2)
        func filter(_ list: String) throws -> ChartFilter { ChartFilter(chosen: try SymbolSelection.parse(list), allowed: nil) }
        let (a, b, c) = (try filter("A"), try filter("B"), try filter("C"))
        #expect(sets.add(a) && sets.add(a) && sets.add(b))
        #expect(!sets.admits(c) && !sets.add(c))
        #expect(sets.admits(a) && sets.add(a))
        sets.remove(b)
        #expect(sets.count == 1 && sets.add(c))
        for _ in 0..<3 { sets.remove(a) }
        #expect(sets.count == 1)
    }

    @Test("a selection's full message is the encoder's output for its symbols alone, byte for byte")
    func composedEqualsEncoder() throws {
        var random = SplitMix64(seed: 7)
        let symbols = (0..<40).map { "S\($0)" } + ["FX:EUR", "FX:GBP", "FX:JPY"]
        let series = symbols.map { symbol in
            SeriesSnapshot(symbol: symbol, ticks: (0..<Int(random.next() % 5)).map { Tick(time: Double($0), price: Double(random.next() % 1_000) / 7, volume: 2) })
        }
        let header = SnapshotHeader(seq: 3, runID: "0000000a", generatedAt: 1_000, intervalMilliseconds: 1_000, charts: series.count)
        let encoder = SnapshotEncoder()
        let snapshot = RouteHarness.relayed(header: header, payload: ByteBuffer(bytes: encoder.encode(series, header: header, windowSeconds: 60)), delta: nil)
        for _ in 0..<50 {
            var entries = Set((0..<Int(random.next() % 6)).map { _ in symbols[Int(random.next() % UInt64(symbols.count))] })
            if random.next() % 2 == 0 { entries.insert("FX:*") }
            if entries.isEmpty { entries.insert("S1") }
            let selection = try SymbolSelection.parse(entries.joined(separator: ","))
            let expected = encoder.encode(series.filter { selection.matches($0.symbol) }, header: header, windowSeconds: 60)
            let filter = ChartFilter(chosen: selection, allowed: nil)
            let messages = snapshot.selected.messages(for: filter)
            #expect(Array(messages.full.plain.payload.readableBytesView) == expected, "\(selection)")
            #expect(messages.full.plain.bytes == snapshot.selected.messages(for: filter).full.plain.bytes, "composed once, shared")
            // A token allowing FX:* alone: the intersection, still the encoder's bytes for those symbols.
            let allowed = try SymbolSelection.parse("FX:*")
            let limited = snapshot.selected.messages(for: ChartFilter(chosen: selection, allowed: allowed))
            let both = encoder.encode(series.filter { selection.matches($0.symbol) && allowed.matches($0.symbol) }, header: header, windowSeconds: 60)
            #expect(Array(limited.full.plain.payload.readableBytesView) == both)
        }
    }

    @Test(
        "random ticks on three producers, selections changed mid-stream, prefixes matching symbols that come later: each selection's delta stream holds its full message at every seq",
        arguments: [UInt64(1), 2]
    )
    func deltaStreamExactPerSelection(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        var producers = [
            FakeProducer(name: "p1", runID: "10000000"), FakeProducer(name: "p2", runID: "20000000"), FakeProducer(name: "p3", runID: "30000000"),
        ]
        let symbols = [["A1", "A2", "A3"], ["B1", "B2"], ["C1", "C2", "C3", "C4"]]
        let choices = ["A1", "A2", "B1", "C3", "A*", "C*", "B2,C*", "D1", "*"]
        var selections = try (0..<4).map { _ in try SymbolSelection.parse(choices[Int(random.next() % UInt64(choices.count))]) }
        var readers = Array(repeating: DeltaStreamCharts(), count: selections.count)
        var merger = SnapshotMerger(forgetAfter: .seconds(30))
        let start = ContinuousClock.now
        var deltas = 0
        for step in 1...400 {
            let index = Int(random.next() % 3)
            if random.next() % 60 == 0 { producers[index].restart(runID: String(format: "%08x", random.next() % 0xffff_ffff)) }
            for symbol in symbols[index] where random.next() % 3 != 0 {
                var ticks = producers[index].series[symbol] ?? []
                switch random.next() % 10 {
                case 0: ticks.removeAll()
                case 1: if ticks.count > 2 { ticks.removeFirst(2) }
                case 2: if let last = ticks.popLast() { ticks.append(Tick(time: last.time, price: last.price + 1)) }
                default: ticks.append(Tick(time: Double(step) + Double(index) / 10, price: Double(random.next() % 10_000) / 100, volume: 1))
                }
                producers[index].series[symbol] = ticks.isEmpty ? nil : ticks
            }
            let snapshot = producers[index].snapshot(at: Double(step))
            let merged = try #require(
                publish(merger.accept(header: snapshot.header, payload: snapshot.payload, delta: snapshot.delta, receivedAt: start + .seconds(step)))
            )
            let relayed = RouteHarness.relayed(header: merged.header, payload: merged.payload, delta: merged.delta)
            let full = try charts(merged.payload)
            for reader in readers.indices {
                // Now and then a client changes what it watches: its next message is a full one.
                if random.next() % 40 == 0 {
                    selections[reader] = try SymbolSelection.parse(choices[Int(random.next() % UInt64(choices.count))])
                    readers[reader] = DeltaStreamCharts()
                }
                let frames = relayed.selected.messages(for: ChartFilter(chosen: selections[reader], allowed: nil)).deltaStream
                if let delta = frames.delta, readers[reader].runID == merged.header.runID, readers[reader].seq == frames.baseSeq {
                    try readers[reader].apply(JSONDecoder().decode(DeltaStreamMessage.self, from: Data(delta.plain.payload.readableBytesView)))
                    deltas += 1
                } else {
                    try readers[reader].apply(JSONDecoder().decode(DeltaStreamMessage.self, from: Data(frames.full.plain.payload.readableBytesView)))
                }
                let expected = full.filter { selections[reader].matches($0.symbol) }
                #expect(readers[reader].sorted == expected, "step \(step), \(selections[reader])")
                #expect(try charts(relayed.selected.messages(for: ChartFilter(chosen: selections[reader], allowed: nil)).full.plain.payload) == expected)
            }
        }
        #expect(deltas > 800, "\(deltas) deltas")
    }
}

@Suite("Selection changes")
struct SelectionChangeTests {
    @Test("subscribe adds, unsubscribe removes entries as given (first when both), a client of every symbol holds *; each refusal has its code")
    func changes() throws {
        let held = try SymbolSelection.parse("AAPL,FX:*")
        #expect(try SelectionChange.parse(#"{"subscribe":["MSFT"]}"#).applied(to: held) == (try SymbolSelection.parse("AAPL,FX:*,MSFT")))
        #expect(try SelectionChange.parse(#"{"unsubscribe":["FX:*","NVDA"]}"#).applied(to: held) == (try SymbolSelection.parse("AAPL")))
        #expect(try SelectionChange.parse(#"{"subscribe":["AAPL"],"unsubscribe":["AAPL"]}"#).applied(to: held) == held)
        #expect(try SelectionChange.parse(#"{"unsubscribe":["*"],"subscribe":["B"]}"#).applied(to: nil) == (try SymbolSelection.parse("B")))
        #expect(try SelectionChange.parse(#"{"unsubscribe":["AAPL","FX:*"]}"#).applied(to: held).matches("AAPL") == false)

        let shape = SelectionChange.Refusal(code: .dataInconsistentWithMessage, reason: #"a message is {"subscribe":[…]} or {"unsubscribe":[…]}, lists of symbols and prefixes"#)
        for text in ["hello", "[]", "{}", #"{"subscribe":"A"}"#, #"{"subscribe":[1]}"#, #"{"follow":["A"]}"#] {
            #expect(throws: shape, "\(text)") { try SelectionChange.parse(text) }
        }
        #expect(throws: SelectionChange.Refusal(code: .policyViolation, reason: "subscribe entry 'A,B' holds a comma: give each symbol or prefix as an entry of its own")) {
            try SelectionChange.parse(#"{"subscribe":["A,B"]}"#)
        }
        #expect(throws: SelectionChange.Refusal(code: .policyViolation, reason: "symbols entry 1 ('A B'): symbol 'A B' may hold only letters, digits and . _ - : /")) {
            try SelectionChange.parse(#"{"subscribe":["A B"]}"#).applied(to: held)
        }
        let many = try SymbolSelection.parse((0..<256).map { "S\($0)" }.joined(separator: ","))
        #expect(throws: SelectionChange.Refusal(code: .policyViolation, reason: "a selection holds at most 256 entries, not 257")) {
            try SelectionChange.parse(#"{"subscribe":["T"]}"#).applied(to: many)
        }
    }
}
