import RollcastCore
import Testing

@Suite("Rolling window")
struct RollingWindowTests {
    func times(_ window: RollingWindow) -> [Double] { window.ticks.map(\.time) }

    @Test("a new window is empty")
    func empty() {
        let window = RollingWindow(length: 10)
        #expect(window.isEmpty)
        #expect(window.newest == nil)
    }

    @Test("ticks older than the window fall out as newer ones arrive; the boundary tick stays")
    func evictionAtTheBoundary() {
        var window = RollingWindow(length: 10)
        for time in [100.0, 105, 110] { window.append(Tick(time: time, price: time)) }
        #expect(times(window) == [100, 105, 110])  // 100 is exactly 10 s old: kept
        window.append(Tick(time: 110.001, price: 1))
        #expect(times(window) == [105, 110, 110.001])
    }

    @Test("evicting by wall-clock time empties a window that stopped ticking")
    func evictByClock() {
        var window = RollingWindow(length: 10)
        window.append(Tick(time: 100, price: 1))
        window.append(Tick(time: 101, price: 2))
        window.evict(olderThan: 101)
        #expect(times(window) == [101])
        window.evict(olderThan: 200)
        #expect(window.isEmpty)
    }

    @Test("a tick with the same time is merged: its price wins, volumes add up")
    func duplicateTimestamps() {
        var window = RollingWindow(length: 10)
        #expect(window.append(Tick(time: 1, price: 10, volume: 5)) == .appended)
        #expect(window.append(Tick(time: 1, price: 11, volume: 7)) == .merged)
        #expect(window.ticks.map(\.price) == [11])
        #expect(window.ticks.map(\.volume) == [12])
    }

    @Test("a late tick is inserted in time order; a late duplicate merges in place")
    func outOfOrder() {
        var window = RollingWindow(length: 60)
        for time in [10.0, 20, 30] { window.append(Tick(time: time, price: time)) }
        #expect(window.append(Tick(time: 15, price: 15)) == .inserted)
        #expect(window.append(Tick(time: 5, price: 5)) == .inserted)
        #expect(window.append(Tick(time: 20, price: 21)) == .merged)
        #expect(times(window) == [5, 10, 15, 20, 30])
        #expect(window.ticks.map(\.price) == [5, 10, 15, 21, 30])
    }

    @Test("a tick older than the window, measured from the newest, is dropped")
    func tooOld() {
        var window = RollingWindow(length: 10)
        window.append(Tick(time: 100, price: 1))
        #expect(window.append(Tick(time: 89.9, price: 2)) == .tooOld)
        #expect(times(window) == [100])
    }

    @Test("times stay strictly ascending whatever order ticks arrive in")
    func strictlyAscending() {
        var generator = SplitMix64(seed: 7)
        var window = RollingWindow(length: 1_000)
        for _ in 0..<5_000 {
            window.append(Tick(time: Double(UInt64.random(in: 0...2_000, using: &generator)) / 2, price: 1))
        }
        let t = times(window)
        #expect(zip(t, t.dropFirst()).allSatisfy { $0 < $1 })
        #expect(t.last! - t.first! <= 1_000)
    }

    @Test("memory stays bounded by the window under a steady feed")
    func bounded() {
        var window = RollingWindow(length: 10)
        for step in 0..<100_000 { window.append(Tick(time: Double(step) * 0.1, price: 1)) }
        #expect(window.count == 101)  // 10 s of ticks every 0.1 s, both ends included
    }

    @Test("replace keeps only the given history")
    func replace() {
        var window = RollingWindow(length: 100)
        window.append(Tick(time: 1, price: 1))
        window.replace(with: [Tick(time: 50, price: 2), Tick(time: 60, price: 3)])
        #expect(times(window) == [50, 60])
    }
}
