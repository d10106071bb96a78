import Logging
import NIOCore
import NIOEmbedded
import NIOWebSocket
import RollcastCore
import Testing

@testable import RollcastGateway

/// One client's writer on an embedded channel: what it writes while the socket takes bytes,
/// what it holds while it does not, and which message of the delta stream each client gets.
@Suite("Snapshot writer")
struct SnapshotWriterTests {
    let channel = EmbeddedChannel()
    let broadcaster = SnapshotBroadcaster(metrics: GatewayMetrics())

    /// A writer after NIO's frame encoder and its outlet below it, as ``RealtimeChartsSocket`` installs them.
    func writer(deltaStream: Bool) throws -> SnapshotWriter {
        let pipeline = channel.pipeline.syncOperations
        let outlet = SharedFrameOutlet()
        try pipeline.addHandler(outlet)
        try pipeline.addHandler(WebSocketFrameEncoder())
        let writer = SnapshotWriter(
            id: broadcaster.makeID(), deflate: false, deltaStream: deltaStream, outlet: outlet, broadcaster: broadcaster, logger: Logger(label: "test")
        )
        try pipeline.addHandler(writer)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9)).wait()
        return writer
    }

    /// Snapshot `seq` of one run: its full message says `full-<seq>`, its delta (on `seq - 1`) `delta-<seq>`.
    static func snapshot(_ seq: UInt64, run: String = "0000000a") -> RelayedSnapshot {
        let header = SnapshotHeader(seq: seq, runID: run, generatedAt: 0, intervalMilliseconds: 1_000, charts: 1, deltaBaseSeq: seq > 1 ? seq - 1 : nil)
        let payload = ByteBuffer(string: "full-\(seq)")
        return RelayedSnapshot(
            header: header, payload: payload, fullStream: ClientFrames(payload, deflater: nil), receivedAt: .now,
            deltaStream: DeltaStreamFrames(
                full: ClientFrames(payload, deflater: nil), delta: seq > 1 ? ClientFrames(ByteBuffer(string: "delta-\(seq)"), deflater: nil) : nil,
                baseSeq: header.deltaBaseSeq
            ),
            sources: []
        )
    }

    /// The payloads written so far, in order.
    func written() throws -> [String] {
        var payloads: [String] = []
        while var frame = try channel.readOutbound(as: ByteBuffer.self) {
            // A server's text frame: 0x81, then a length under 126 for these.
            #expect(frame.readInteger(as: UInt8.self) == 0x81)
            let length = Int(frame.readInteger(as: UInt8.self)!)
            payloads.append(frame.readString(length: length)!)
        }
        return payloads
    }

    func setWritable(_ writable: Bool) {
        channel.isWritable = writable
        channel.pipeline.fireChannelWritabilityChanged()
    }

    @Test("an unwritable socket offered three snapshots holds the newest alone and skips two; the delta client then gets it in full, and deltas after")
    func latestWinsThenFull() throws {
        let writer = try writer(deltaStream: true)
        #expect(writer.offer(Self.snapshot(1)) > 0)
        #expect(writer.offer(Self.snapshot(2)) > 0)
        #expect(try written() == ["full-1", "delta-2"])

        setWritable(false)
        for seq: UInt64 in 3...5 { #expect(writer.offer(Self.snapshot(seq)) == 0) }
        #expect(try written() == [])
        #expect(writer.skipped == 2)
        #expect(broadcaster.metrics.snapshotsSkipped.value == 2)

        // 5's delta goes on 4, which this client never got: only the full message is exact.
        setWritable(true)
        #expect(try written() == ["full-5"])
        writer.offer(Self.snapshot(6))
        #expect(try written() == ["delta-6"])
        #expect(writer.sent == 4)
    }

    @Test("the delta stream: a new run, or a gap in seq, gets the full message; the full stream always does")
    func fullWhereDeltaIsNotExact() throws {
        let delta = try writer(deltaStream: true)
        delta.offer(Self.snapshot(4))
        delta.offer(Self.snapshot(5))
        delta.offer(Self.snapshot(7))
        delta.offer(Self.snapshot(2, run: "0000000b"))
        delta.offer(Self.snapshot(3, run: "0000000b"))
        #expect(try written() == ["full-4", "delta-5", "full-7", "full-2", "delta-3"])
    }

    @Test("the full stream gets every snapshot whole")
    func fullStream() throws {
        let full = try writer(deltaStream: false)
        for seq: UInt64 in 1...3 { full.offer(Self.snapshot(seq)) }
        #expect(try written() == ["full-1", "full-2", "full-3"])
    }

    @Test("after its close frame, a writer writes no snapshot, nor one it held")
    func nothingAfterClose() throws {
        let writer = try writer(deltaStream: false)
        setWritable(false)
        writer.offer(Self.snapshot(1))
        try channel.writeOutbound(WebSocketFrame(fin: true, opcode: .connectionClose, data: ByteBuffer()))
        setWritable(true)
        #expect(writer.offer(Self.snapshot(2)) == 0)
        // Only the close frame went out (its header and its empty payload, as the encoder writes them).
        var out = ByteBuffer()
        while var part = try channel.readOutbound(as: ByteBuffer.self) { out.writeBuffer(&part) }
        #expect(Array(out.readableBytesView) == [0x88, 0x00])
        #expect(writer.sent == 0)
    }
}
