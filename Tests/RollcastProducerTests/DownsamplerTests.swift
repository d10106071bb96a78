import RollcastCore
import RollcastProducer
import Testing

@Suite("Downsampling")
struct DownsamplerTests {
    func ticks(_ prices: [Double]) -> [Tick] {
        prices.enumerated().map { Tick(time: Double($0.offset), price: $0.element) }
    }

    @Test("worked example: 10 ticks to 6 keep the ends and each half's min and max in time order")
    func workedExample() {
        // Interior t = 1…8 in two buckets of 4.5 s: [1,4] has min 1 (t1) and max 9 (t2),
        // [5,8] has min 2 (t5) and max 8 (t6).
        let reduced = Downsampler.minMax(ticks([5, 1, 9, 3, 7, 2, 8, 4, 6, 5]), maxPoints: 6)
        #expect(reduced.map(\.time) == [0, 1, 2, 5, 6, 9])
        #expect(reduced.map(\.price) == [5, 1, 9, 2, 8, 5])
    }

    @Test("a max before the min in a bucket comes first")
    func timeOrder() {
        let reduced = Downsampler.minMax(ticks([0, 9, 5, 1, 0]), maxPoints: 4)
        #expect(reduced.map(\.time) == [0, 1, 3, 4])
    }

    @Test("a single spike survives a 100-fold reduction")
    func spike() {
        var prices = [Double](repeating: 100, count: 10_000)
        prices[4_321] = 250
        prices[7_000] = 20
        let reduced = Downsampler.minMax(ticks(prices), maxPoints: 100)
        #expect(reduced.count <= 100)
        #expect(reduced.contains { $0.time == 4_321 && $0.price == 250 })
        #expect(reduced.contains { $0.time == 7_000 && $0.price == 20 })
        #expect(reduced.first?.time == 0 && reduced.last?.time == 9_999)
        #expect(zip(reduced, reduced.dropFirst()).allSatisfy { $0.time < $1.time })
    }

    @Test("short series and 0 (off) are left as they are")
    func untouched() {
        let series = ticks([1, 2, 3])
        #expect(Downsampler.minMax(series, maxPoints: 4) == series)
        #expect(Downsampler.minMax(ticks(Array(repeating: 1, count: 50)), maxPoints: 0).count == 50)
    }

    @Test("uneven spacing: empty buckets add nothing and the result stays within the limit")
    func gaps() {
        let times: [Double] = [0, 0.1, 0.2, 0.3, 50, 99.8, 99.9, 100]
        let series = times.enumerated().map { Tick(time: $0.element, price: Double($0.offset)) }
        let reduced = Downsampler.minMax(series, maxPoints: 6)
        #expect(reduced.count <= 6)
        #expect(reduced.first?.time == 0 && reduced.last?.time == 100)
    }
}
