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
