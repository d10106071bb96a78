import Testing

@testable import RollcastProducer

@Suite("Mock data")
struct MockDataTests {
    @Test("the same symbol and seed give the same history; another seed another")
    func deterministic() {
        var a = RandomWalk(symbol: "X", seed: 1)
        var b = RandomWalk(symbol: "X", seed: 1)
        var c = RandomWalk(symbol: "X", seed: 2)
        let history = a.history(count: 100, endingAt: 1_000, span: 60)
        #expect(history == b.history(count: 100, endingAt: 1_000, span: 60))
        #expect(history.map(\.price) != c.history(count: 100, endingAt: 1_000, span: 60).map(\.price))
    }

    @Test("history is evenly spread over the span, ends at the given time, prices positive")
    func history() {
        var walk = RandomWalk(symbol: "Y", seed: 3)
        let history = walk.history(count: 4, endingAt: 1_000, span: 60)
        #expect(history.map(\.time) == [955, 970, 985, 1_000])
        #expect(history.allSatisfy { $0.price > 0 })
    }
}

@Suite("Mock feed")
struct MockFeedTests {
    @Test("a feed of more symbols than one load request holds (1,000) starts with every window filled")
    func manySymbols() throws {
        let (store, _) = makeStore(window: 300, maxSymbols: 1_000)
        let symbols = (1...1_000).map { "S\($0)" }
        _ = try MockFeed(store: store, symbols: symbols, seed: 1, rate: 1, logger: .init(label: "test"))
        let (windows, _, ticks) = store.copyWindows(of: Set(symbols)) { () }
        #expect(windows.count == 1_000)
        #expect(windows.allSatisfy { $0.ticks.count == 300 }, "every window full")
        #expect(ticks == 300_000)
    }
}
