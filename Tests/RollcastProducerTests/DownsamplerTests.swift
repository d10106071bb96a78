import RollcastCore
import RollcastProducer
import Testing

@Suite("Downsampling")
struct DownsamplerTests {
    func ticks(_ prices: [Double], from start: Double = 0) -> [Tick] {
        prices.enumerated().map { Tick(time: start + Double($0.offset), price: $0.element) }
    }

    @Test("worked example: 20 ticks to 7 keep each 10-second bucket's min and max in time order, then the newest tick")
    func workedExample() {
        // Window (0, 20] at now = 20: buckets [0, 10) and [10, 20), 10 s wide ((7 - 3) / 2 = 2 buckets).
        // [0, 10): min 1 at t1, max 9 at t2; [10, 20): max 8 at t12, min 0 at t15; newest t19.
        let prices: [Double] = [5, 1, 9, 3, 7, 2, 8, 4, 6, 5, 4, 6, 8, 5, 3, 0, 2, 4, 6, 7]
        let reduced = Downsampler.minMax(ticks(prices), maxPoints: 7, span: 20, now: 20)
        #expect(reduced.map(\.time) == [1, 2, 12, 15, 19])
        #expect(reduced.map(\.price) == [1, 9, 8, 0, 7])
    }

    @Test("buckets follow time, not the window: a new tick changes only the last bucket; the window moving on drops whole buckets from the front")
    func stableBuckets() {
        var prices: [Double] = []
        for index in 0..<1_000 { prices.append(100 + Double(index % 37) - Double(index % 11)) }
        let before = Downsampler.minMax(ticks(prices, from: 10_000), maxPoints: 50, span: 1_000, now: 10_999.5)
        // One more tick, half a second later: the same buckets up to the last one.
        let after = Downsampler.minMax(ticks(prices + [50], from: 10_000).dropFirst().map { $0 }, maxPoints: 50, span: 1_000, now: 11_000)
        let common = zip(before, after).prefix { $0 == $1 }.count
        #expect(before.count - common <= 3, "changed from \(common) of \(before.count)")
        #expect(after.last?.price == 50)
        // Much later: the front lost whole buckets, the rest is the same points.
        let later = Downsampler.minMax(ticks(prices + [50], from: 10_000).dropFirst(100).map { $0 }, maxPoints: 50, span: 1_000, now: 11_100)
        let dropped = after.prefix { $0.time < later.first!.time }.count
        #expect(Array(after.dropFirst(dropped).prefix(later.count - 3)) == Array(later.prefix(later.count - 3)))
    }

    @Test("a single spike survives a 100-fold reduction; the result stays in time order and within the limit")
    func spike() {
        var prices = [Double](repeating: 100, count: 10_000)
        prices[4_321] = 250
        prices[7_000] = 20
        let reduced = Downsampler.minMax(ticks(prices), maxPoints: 100, span: 10_000, now: 10_000)
        #expect(reduced.count <= 100)
        #expect(reduced.contains { $0.time == 4_321 && $0.price == 250 })
        #expect(reduced.contains { $0.time == 7_000 && $0.price == 20 })
        #expect(reduced.last?.time == 9_999)
        #expect(zip(reduced, reduced.dropFirst()).allSatisfy { $0.time < $1.time })
    }

    @Test("short series and 0 (off) are left as they are")
    func untouched() {
        let series = ticks([1, 2, 3])
        #expect(Downsampler.minMax(series, maxPoints: 5, span: 60, now: 3) == series)
        #expect(Downsampler.minMax(ticks(Array(repeating: 1, count: 50)), maxPoints: 0, span: 60, now: 50).count == 50)
    }

    @Test("uneven spacing: empty buckets add nothing and the result stays within the limit", arguments: [5, 6, 7, 9, 50])
    func gaps(maxPoints: Int) {
        let times: [Double] = [0.1, 0.2, 0.3, 0.4, 50, 99.8, 99.9, 100, 100.05, 100.1]
        let series = times.enumerated().map { Tick(time: $0.element, price: Double($0.offset % 3)) }
        let reduced = Downsampler.minMax(series, maxPoints: maxPoints, span: 100, now: 100.1)
        #expect(reduced.count <= maxPoints)
        #expect(reduced.last?.time == 100.1)
    }
}
