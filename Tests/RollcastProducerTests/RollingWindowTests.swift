import Testing

@testable import RollcastProducer

@Suite("Rolling window")
struct RollingWindowTests {
    func times(_ window: RollingWindow) -> [Double] { window.ticks.map(\.time) }

    @Test("a new window is empty")
    func empty() {
        let window = RollingWindow(length: 10)
        #expect(window.isEmpty)
        #expect(window.newest == nil)
    }

    @Test("ticks older than the window on the clock fall out; the boundary tick stays")
    func evictionAtTheBoundary() {
        var window = RollingWindow(length: 10)
        for time in [100.0, 105, 110] { window.append(Tick(time: time, price: time), now: 110) }
        #expect(times(window) == [100, 105, 110])  // 100 is exactly 10 s old: kept
        window.append(Tick(time: 110.001, price: 1), now: 110.001)
        #expect(times(window) == [105, 110, 110.001])
    }

    @Test("the clock, not the newest tick, trims: a window that stopped ticking empties")
    func trimByClock() {
        var window = RollingWindow(length: 10)
        window.append(Tick(time: 100, price: 1), now: 100)
        window.append(Tick(time: 101, price: 2), now: 101)
        #expect(window.trim(now: 111) == 1)
        #expect(times(window) == [101])
        window.trim(now: 200)
        #expect(window.isEmpty)
    }

    @Test("a tick far ahead of the clock cannot freeze the window: later real ticks still go in")
    func noFreeze() {
        var window = RollingWindow(length: 10)
        // Rules refuse such a tick before it gets here; the window must not depend on it.
        window.append(Tick(time: 1_796_131_255_000, price: 1), now: 1_000)
        #expect(window.append(Tick(time: 1_001, price: 2), now: 1_001) == .inserted)
        #expect(window.append(Tick(time: 1_002, price: 3), now: 1_002) == .inserted)
        #expect(times(window).prefix(2) == [1_001, 1_002])
    }

    @Test("a tick with the same time is merged: its price wins, volumes add up")
    func duplicateTimestamps() {
        var window = RollingWindow(length: 10)
        #expect(window.append(Tick(time: 1, price: 10, volume: 5), now: 1) == .appended)
        #expect(window.append(Tick(time: 1, price: 11, volume: 7), now: 1) == .merged)
        #expect(window.ticks.map(\.price) == [11])
        #expect(window.ticks.map(\.volume) == [12])
    }

    @Test("merged volumes that would overflow are held at the largest finite number and counted")
    func volumeOverflow() {
        var window = RollingWindow(length: 10)
        window.append(Tick(time: 1, price: 1, volume: 1e308), now: 1)
        let counts = window.add([Tick(time: 1, price: 2, volume: 1e308)], now: 1)
        #expect(counts.merged == 1 && counts.volumesCapped == 1)
        #expect(window.ticks[0].volume == .greatestFiniteMagnitude)
        #expect(window.ticks[0].volume.isFinite)
    }

    @Test("a late tick is inserted in time order; a late duplicate merges in place")
    func outOfOrder() {
        var window = RollingWindow(length: 60)
        for time in [10.0, 20, 30] { window.append(Tick(time: time, price: time), now: 30) }
        #expect(window.append(Tick(time: 15, price: 15), now: 30) == .inserted)
        #expect(window.append(Tick(time: 5, price: 5), now: 30) == .inserted)
        #expect(window.append(Tick(time: 20, price: 21), now: 30) == .merged)
        #expect(times(window) == [5, 10, 15, 20, 30])
        #expect(window.ticks.map(\.price) == [5, 10, 15, 21, 30])
    }

    @Test("a tick older than the window on the clock is dropped as too old")
    func tooOld() {
        var window = RollingWindow(length: 10)
        window.append(Tick(time: 100, price: 1), now: 100)
        #expect(window.append(Tick(time: 89.9, price: 2), now: 100) == .tooOld)
        #expect(window.append(Tick(time: 99, price: 2), now: 110) == .tooOld)
        #expect(times(window) == [100])
    }

    @Test("past maxTicks the oldest ticks go first, and each is counted")
    func cap() {
        var window = RollingWindow(length: 1_000, maxTicks: 3)
        var dropped = 0
        for time in 1...5 { dropped += window.add([Tick(time: Double(time), price: 1)], now: 5).droppedByCap }
        #expect(times(window) == [3, 4, 5])
        #expect(dropped == 2)
        // A late tick older than everything held is inserted, then is the oldest, and goes.
        #expect(window.add([Tick(time: 2.5, price: 1)], now: 5).droppedByCap == 1)
        #expect(times(window) == [3, 4, 5])
    }

    @Test("a batch gives the same window as its ticks one by one, however late and merged they are")
    func batchMatchesOneByOne() {
        var generator = SplitMix64(seed: 11)
        for round in 0..<50 {
            let now = 10_000.0
            var base = RollingWindow(length: 500, maxTicks: round % 2 == 0 ? 300 : .max)
            for step in 0..<400 { base.append(Tick(time: now - 500 + Double(step), price: 1, volume: 1), now: now) }
            let batch = (0..<Int.random(in: 1...2_000, using: &generator)).map { _ in
                Tick(
                    time: now - 600 + Double(UInt64.random(in: 0...1_300, using: &generator)) / 2,
                    price: Double(UInt64.random(in: 1...1_000, using: &generator)), volume: 1
                )
            }
            var oneByOne = base
            var expected = RollingWindow.Counts()
            for tick in batch { expected += oneByOne.add([tick], now: now) }
            var together = base
            let counts = together.add(batch, now: now)
            #expect(Array(together.ticks) == Array(oneByOne.ticks), "round \(round)")
            #expect(counts.tooOld == expected.tooOld)
            if base.maxTicks == .max {
                // Under a cap, one by one can evict a time that a later tick of the batch then
                // finds gone; the window is the same, the merge count is not.
                #expect(counts.merged == expected.merged)
                #expect(counts.appended + counts.inserted == expected.appended + expected.inserted)
            }
        }
    }

    @Test("times stay strictly ascending whatever order ticks arrive in")
    func strictlyAscending() {
        var generator = SplitMix64(seed: 7)
        var window = RollingWindow(length: 1_000)
        for _ in 0..<5_000 {
            window.append(Tick(time: Double(UInt64.random(in: 0...2_000, using: &generator)) / 2, price: 1), now: 1_000)
        }
        let t = times(window)
        #expect(zip(t, t.dropFirst()).allSatisfy { $0 < $1 })
        #expect(t.first! >= 0)
    }

    @Test("memory stays bounded by the window under a steady feed")
    func bounded() {
        var window = RollingWindow(length: 10)
        for step in 0..<100_000 {
            let time = Double(step) * 0.1
            window.append(Tick(time: time, price: 1), now: time)
        }
        #expect(window.count == 101)  // 10 s of ticks every 0.1 s, both ends included
    }

    @Test("replace keeps only the given history")
    func replace() {
        var window = RollingWindow(length: 100)
        window.append(Tick(time: 1, price: 1), now: 60)
        window.replace(with: [Tick(time: 50, price: 2), Tick(time: 60, price: 3)], now: 60)
        #expect(times(window) == [50, 60])
    }
}
