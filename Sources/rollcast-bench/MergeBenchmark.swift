import ArgumentParser
import NIOCore
import RollcastCore
import RollcastGateway
import RollcastProducer

/// What merging several producers' snapshots costs a gateway: per snapshot received, the
/// time to cut it into charts and join every producer's latest, against one copy of the
/// merged message (the least any relay of it costs), in the same run.
struct MergeBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "merge", abstract: "The gateway's merge of several producers' snapshots, in process.")

    @Option(help: "Symbols per producer.")
    var symbols = 50

    @Option(help: "Points per symbol.")
    var points = 300

    @Option(help: "Snapshots merged per figure (round robin over the producers); the median of --runs is printed.")
    var snapshots = 400

    @Option(help: "Runs per figure.")
    var runs = 5

    func run() throws {
        measure(producers: 1, table: false)
        print("| producers | charts | merged message | merge per snapshot received | one copy of the message | merge ÷ copy | with delta rewrite |")
        print("|---|---|---|---|---|---|---|")
        for producers in [1, 2, 8, 32] { measure(producers: producers, table: true) }
    }

    func measure(producers count: Int, table: Bool) {
        let now = 1_795_000_000.0
        let encoder = SnapshotEncoder()
        // One payload and one delta per producer; only the header's seq moves from snapshot to snapshot.
        let producers: [(name: String, payload: ByteBuffer, delta: ByteBuffer)] = (0..<count).map { index in
            let series = (0..<symbols).map { symbol in
                var walk = RandomWalk(symbol: "P\(index)-S\(symbol)", seed: UInt64(index * 1_000 + symbol))
                return SeriesSnapshot(symbol: "P\(index)-S\(symbol)", ticks: walk.history(count: points, endingAt: now, span: Double(points)))
            }
            var later = series
            for position in later.indices {
                later[position] = SeriesSnapshot(symbol: later[position].symbol, ticks: Array(later[position].ticks.dropFirst()) + [Tick(time: now + 1, price: 100)])
            }
            let header = SnapshotHeader(seq: 1, runID: String(format: "%08x", index), generatedAt: 1, intervalMilliseconds: 1_000, charts: symbols)
            return (
                "producer-\(index)", ByteBuffer(bytes: encoder.encode(series, header: header, windowSeconds: Double(points))),
                ByteBuffer(bytes: encoder.encodeDelta(SnapshotDelta.between(series, later), header: header, baseSeq: 1, windowSeconds: Double(points)))
            )
        }
        var seq: UInt64 = 0
        var merger = SnapshotMerger(forgetAfter: .seconds(3_600))
        var messageBytes = 0
        func mergeRound(withDelta: Bool) {
            for _ in 0..<(snapshots / count) {
                seq += 1
                for (index, producer) in producers.enumerated() {
                    let header = SnapshotHeader(
                        seq: seq, runID: String(format: "%08x", index), generatedAt: Int64(seq), intervalMilliseconds: 1_000, charts: symbols,
                        deltaBaseSeq: withDelta ? seq - 1 : nil, producer: producer.name
                    )
                    if case .publish(let merged) = merger.accept(
                        header: header, payload: producer.payload, delta: withDelta ? producer.delta : nil, receivedAt: .now
                    ) {
                        messageBytes = merged.payload.readableBytes
                    }
                }
            }
        }
        mergeRound(withDelta: false)
        if !table {
            let payload = producers[0].payload
            let split = median(runs: runs) { for _ in 0..<100 { _ = try? JSONArraySplitter.elementRanges(in: payload.readableBytesView) } } / 100
            print("cutting one producer's \(format(Double(payload.readableBytes) / 1e6, 2)) MB snapshot into its charts: \(format(split * 1e6, 0)) µs\n")
            return
        }
        let merges = Double((snapshots / count) * count)
        let plain = median(runs: runs) { mergeRound(withDelta: false) } / merges
        let withDelta = median(runs: runs) { mergeRound(withDelta: true) } / merges
        var source = ByteBuffer(repeating: 0x20, count: messageBytes)
        let copy = median(runs: runs) {
            for _ in 0..<Int(merges) {
                var copied = ByteBuffer()
                copied.reserveCapacity(messageBytes)
                copied.writeBuffer(&source)
                source.moveReaderIndex(to: 0)
            }
        } / merges
        print(
            "| \(count) | \(count * symbols) | \(format(Double(messageBytes) / 1e6, 2)) MB | \(format(plain * 1e6, 0)) µs | \(format(copy * 1e6, 0)) µs "
                + "| \(format(plain / copy, 1))× | \(format(withDelta * 1e6, 0)) µs |"
        )
    }
}
