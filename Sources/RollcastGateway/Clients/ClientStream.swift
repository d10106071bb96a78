import RollcastCore

/// What one client is sent of each snapshot, whatever carries it (a WebSocket or Server-Sent
/// Events): the stream it asked for, the charts it watches and, on the delta stream, the
/// snapshot it holds, since a delta goes out only on top of it.
struct ClientStream {
    /// A snapshot's message for this client, and whether it is the delta.
    struct Message {
        let frames: ClientFrames
        let isDelta: Bool
    }

    /// The delta stream (`rollcast.delta.v1`, `?stream=delta`), or the full one.
    let deltaStream: Bool
    /// The charts the client gets (chosen, and allowed by its token); `nil` for every chart
    /// (the snapshot's own messages).
    private(set) var selection: ChartFilter?
    /// The last snapshot the client was sent, or the one it says it holds (an SSE `Last-Event-ID`).
    private(set) var held: SnapshotID?

    init(deltaStream: Bool, selection: ChartFilter?, holding held: SnapshotID? = nil) {
        self.deltaStream = deltaStream
        self.selection = selection
        self.held = held
    }

    /// The message of `snapshot` for this client; `nil` when it holds that snapshot already
    /// (a reconnect that names the latest).
    mutating func message(for snapshot: RelayedSnapshot) -> Message? {
        let id = SnapshotID(snapshot.header)
        guard id != held else { return nil }
        defer { held = id }
        guard deltaStream else {
            if let selection { return Message(frames: snapshot.selected.messages(for: selection).full, isDelta: false) }
            return Message(frames: snapshot.fullStream, isDelta: false)
        }
        // The delta when the client holds its base (the previous snapshot of the same run, sent
        // whole or rebuilt from deltas); otherwise the full message: a new client, one that
        // skipped a snapshot while slow, a producer restart or a snapshot the gateway missed.
        // (The snapshot's own frames are read in place: this runs per client per snapshot.)
        let holdsBase = held.map { $0.runID == id.runID && $0.seq == snapshot.header.deltaBaseSeq } ?? false
        if let selection {
            let frames = snapshot.selected.messages(for: selection).deltaStream
            if holdsBase, let delta = frames.delta { return Message(frames: delta, isDelta: true) }
            return Message(frames: frames.full, isDelta: false)
        }
        if holdsBase, let delta = snapshot.deltaStream.delta { return Message(frames: delta, isDelta: true) }
        return Message(frames: snapshot.deltaStream.full, isDelta: false)
    }

    /// The client now watches `selection`: its next message is a full one of the new selection
    /// (no delta is on a base it holds).
    mutating func select(_ selection: ChartFilter) {
        self.selection = selection
        held = nil
    }
}

/// A snapshot's place in a producer's run (or in the merge of several): what a delta is on top
/// of, and an SSE event's `id` (`<run_id>:<seq>`).
struct SnapshotID: Hashable, Sendable {
    let runID: String
    let seq: UInt64

    init(runID: String, seq: UInt64) {
        self.runID = runID
        self.seq = seq
    }

    init(_ header: SnapshotHeader) {
        self.init(runID: header.runID, seq: header.seq)
    }

    /// The id of an event, as a client gives it back in `Last-Event-ID`; `nil` for anything else.
    init?(eventID: String) {
        guard let colon = eventID.lastIndex(of: ":"), let seq = UInt64(eventID[eventID.index(after: colon)...]) else { return nil }
        let runID = String(eventID[..<colon])
        guard !runID.isEmpty, runID.utf8.count <= 64 else { return nil }
        self.init(runID: runID, seq: seq)
    }

    var eventID: String { "\(runID):\(seq)" }
}
