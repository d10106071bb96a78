import DequeModule
import NIOCore
import Synchronization

/// Pings the WebSocket clients of one event loop from one repeating timer, instead of two
/// timers per client.
///
/// A timer per client (the next ping, then the pong's deadline) kept tens of thousands of
/// tasks in each event loop's timer heap, and every ping cost a removal and two insertions in
/// it: at 19,000 delta clients about a fifth of the gateway's CPU (`perf`, docs/performance.md).
/// Here each tick pings the next share of the loop's clients, so that each is pinged once per
/// `pingInterval`, and checks the clients pinged `pongTimeout` ago: one that has not answered
/// is closed. A deadline is found at most one tick late.
final class PingSweep {
    private let limits: ConnectionGuard.Limits
    private let eventLoop: any EventLoop
    private let tick: TimeAmount
    private var members: [ConnectionGuard] = []
    private var cursor = 0
    /// Pings owed: members × ticks / interval, less those sent.
    private var credit = 0.0
    /// The pings of each tick, checked once their deadline has passed.
    private var outstanding: Deque<(due: NIODeadline, pings: [(guard: ConnectionGuard, number: UInt64)])> = []
    private var timer: Scheduled<Void>?

    init(limits: ConnectionGuard.Limits, eventLoop: any EventLoop) {
        self.limits = limits
        self.eventLoop = eventLoop
        tick = .nanoseconds(max(1_000_000, min(1_000_000_000, limits.pingInterval.nanoseconds / 2, limits.pongTimeout.nanoseconds / 2)))
    }

    var count: Int { members.count }

    func add(_ member: ConnectionGuard) {
        member.sweepIndex = members.count
        members.append(member)
        if timer == nil { scheduleTick() }
    }

    func remove(_ member: ConnectionGuard) {
        guard let index = member.sweepIndex, index < members.count, members[index] === member else { return }
        member.sweepIndex = nil
        let last = members.removeLast()
        if index < members.count {
            members[index] = last
            last.sweepIndex = index
        }
    }

    /// The next tick; the sweep lives as long as its event loop, one timer for all its clients.
    private func scheduleTick() {
        timer = eventLoop.assumeIsolated().scheduleTask(in: tick) { [self] in
            sweep()
            scheduleTick()
        }
    }

    private func sweep() {
        let now = eventLoop.now
        while let first = outstanding.first, first.due <= now {
            outstanding.removeFirst()
            for ping in first.pings { ping.guard.checkPong(ping.number) }
        }
        guard !members.isEmpty else {
            credit = 0
            return
        }
        // Each member once per ping interval: this tick's share of them (its fraction carried
        // to the next tick), from where the last stopped.
        credit += Double(members.count) * Double(tick.nanoseconds) / Double(limits.pingInterval.nanoseconds)
        let share = min(members.count, Int(credit))
        credit -= Double(share)
        var pings: [(guard: ConnectionGuard, number: UInt64)] = []
        pings.reserveCapacity(share)
        for _ in 0..<share {
            if cursor >= members.count { cursor = 0 }
            let member = members[cursor]
            cursor += 1
            if let number = member.ping() { pings.append((member, number)) }
        }
        if !pings.isEmpty { outstanding.append((now + limits.pongTimeout, pings)) }
    }
}

/// The ping sweep of each event loop, made when its first client comes.
final class PingSweeps: Sendable {
    private let limits: ConnectionGuard.Limits
    private let sweeps = Mutex<[ObjectIdentifier: NIOLoopBound<PingSweep>]>([:])

    init(limits: ConnectionGuard.Limits) {
        self.limits = limits
    }

    /// The sweep of `eventLoop`. - Important: call on that event loop.
    func sweep(on eventLoop: any EventLoop) -> PingSweep {
        let limits = limits
        return sweeps.withLock { sweeps in
            if let sweep = sweeps[ObjectIdentifier(eventLoop)] { return sweep }
            let sweep = NIOLoopBound(PingSweep(limits: limits, eventLoop: eventLoop), eventLoop: eventLoop)
            sweeps[ObjectIdentifier(eventLoop)] = sweep
            return sweep
        }.value
    }
}
