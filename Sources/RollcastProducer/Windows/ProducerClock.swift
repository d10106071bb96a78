import Foundation
import Synchronization

/// The producer's one notion of now: the wall clock, or during a replay the time of the file.
///
/// Windows are trimmed against it and ticks are checked against it, so a replay's windows
/// move with the file and a live producer's with the wall.
public final class ProducerClock: Sendable {
    public enum Kind: String, Sendable {
        case wall
        case replay
    }

    public let kind: Kind
    // Seconds as a bit pattern: read from every thread, set only by the replay.
    private let replayTime = Atomic<UInt64>(0)

    public init(_ kind: Kind, start: Double = 0) {
        self.kind = kind
        replayTime.store(start.bitPattern, ordering: .relaxed)
    }

    /// Unix seconds.
    public func now() -> Double {
        switch kind {
        case .wall: Date().timeIntervalSince1970
        case .replay: Double(bitPattern: replayTime.load(ordering: .acquiring))
        }
    }

    /// Moves a replay clock; a wall clock ignores it.
    public func set(_ time: Double) {
        replayTime.store(time.bitPattern, ordering: .releasing)
    }
}
