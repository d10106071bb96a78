import DequeModule
import NIOCore
import Synchronization

/// A client that its event loop's sweep visits once per interval: a WebSocket to ping, an
/// event stream to keep alive.
protocol SweptClient: AnyObject {
    /// Its place in the sweep's list (kept by the sweep).
    var sweepIndex: Int? { get set }
    /// The visit: a ping (its number, checked at its deadline) or a keep-alive (`nil`: nothing to check).
    func visit() -> UInt64?
    /// At the deadline of visit `number`: a ping still unanswered closes the connection.
    func checkAnswer(_ number: UInt64)
}

/// Visits the clients of one event loop from one repeating timer, instead of timers per client.
///
/// A timer per client (the next ping, then the pong's deadline) kept tens of thousands of
/// tasks in each event loop's timer heap, and every ping cost a removal and two insertions in
/// it: at 19,000 delta clients about a fifth of the gateway's CPU (`perf`, docs/performance.md).
/// Here each tick visits the next share of the loop's clients, so that each is visited once per
/// `interval`, and checks the visits made `deadline` ago: a WebSocket that has not answered its
/// ping is closed. A deadline is found at most one tick late.
final class ClientSweep {
    private let interval: TimeAmount
    private let deadline: TimeAmount
    private let eventLoop: any EventLoop
    private let tick: TimeAmount
    private var members: [any SweptClient] = []
    private var cursor = 0
    /// Pings owed: members × ticks / interval, less those sent.
    private var credit = 0.0
    /// The pings of each tick, checked once their deadline has passed.
    private var outstanding: Deque<(due: NIODeadline, visits: [(client: any SweptClient, number: UInt64)])> = []
    private var timer: Scheduled<Void>?

    init(interval: TimeAmount, deadline: TimeAmount, eventLoop: any EventLoop) {
        self.interval = interval
        self.deadline = deadline
        self.eventLoop = eventLoop
        tick = .nanoseconds(max(1_000_000, min(1_000_000_000, interval.nanoseconds / 2, deadline.nanoseconds / 2)))
    }

    var count: Int { members.count }

    func add(_ member: any SweptClient) {
        member.sweepIndex = members.count
        members.append(member)
        if timer == nil { scheduleTick() }
    }

    func remove(_ member: any SweptClient) {
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
            for visit in first.visits { visit.client.checkAnswer(visit.number) }
        }
        guard !members.isEmpty else {
            credit = 0
            return
        }
        // Each member once per ping interval: this tick's share of them (its fraction carried
        // to the next tick), from where the last stopped.
        credit += Double(members.count) * Double(tick.nanoseconds) / Double(interval.nanoseconds)
        // (A hair added: fifteen fifteenths must make one, not 0.999….)
        let share = min(members.count, Int(credit + 1e-9))
        credit -= Double(share)
        var visits: [(client: any SweptClient, number: UInt64)] = []
        for _ in 0..<share {
            if cursor >= members.count { cursor = 0 }
            let member = members[cursor]
            cursor += 1
            if let number = member.visit() { visits.append((member, number)) }
        }
        if !visits.isEmpty { outstanding.append((now + deadline, visits)) }
    }
}

/// The sweep of each event loop for one kind of visit (WebSocket pings, event-stream
/// keep-alives), made when its first client comes.
final class ClientSweeps: Sendable {
    private let interval: TimeAmount
    private let deadline: TimeAmount
    private let sweeps = Mutex<[ObjectIdentifier: NIOLoopBound<ClientSweep>]>([:])

    /// - Parameters:
    ///   - interval: how often each client is visited.
    ///   - deadline: how long after a ping its answer may come.
    init(interval: TimeAmount, deadline: TimeAmount) {
        self.interval = interval
        self.deadline = deadline
    }

    /// The sweep of `eventLoop`. - Important: call on that event loop.
    func sweep(on eventLoop: any EventLoop) -> ClientSweep {
        let (interval, deadline) = (interval, deadline)
        return sweeps.withLock { sweeps in
            if let sweep = sweeps[ObjectIdentifier(eventLoop)] { return sweep }
            let sweep = NIOLoopBound(ClientSweep(interval: interval, deadline: deadline, eventLoop: eventLoop), eventLoop: eventLoop)
            sweeps[ObjectIdentifier(eventLoop)] = sweep
            return sweep
        }.value
    }
}
