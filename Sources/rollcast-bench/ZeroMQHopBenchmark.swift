import ArgumentParser
import Foundation
import NIOCore
import RollcastCore
import ZeroMQ

/// Snapshot messages per second from a PUB thread to a SUB thread over ipc://, shaped as
/// the producer sends them (topic, header, payload) and received as the gateway does
/// (payload copied once into a ByteBuffer). High-water marks are off so nothing is dropped.
struct ZeroMQHopBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "zmq-hop", abstract: "Producer → gateway throughput over ipc://, in process.")

    func run() throws {
        print("| payload | messages | snapshots/s | MB/s |")
        print("|---|---|---|---|")
        for (size, count) in [(50_000, 20_000), (1_000_000, 1_000)] {
            try hop(payloadBytes: size, messages: count)
        }
    }

    func hop(payloadBytes: Int, messages: Int) throws {
        let directory = "/tmp/rcb-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let endpoint = "ipc://\(directory)/hop.sock"
        let context = try ZMQContext()
        let publisher = try ZMQSocket(context: context, type: .pub)
        try publisher.setSendHighWaterMark(0)
        try publisher.bind(endpoint)
        let topic = Array(SnapshotHeader.topic.utf8)
        let header = Array(#"{"seq":1,"run_id":"bench","generated_at":0,"interval_ms":1000,"charts":1}"#.utf8)
        let payload = [UInt8](repeating: UInt8(ascii: "7"), count: payloadBytes)
        let probe = Array("probe".utf8)

        // The subscriber lives on its own thread, as in the gateway.
        let received = ReceiveCount()
        let receiver = Thread {
            do {
                let subscriber = try ZMQSocket(context: context, type: .sub)
                try subscriber.setReceiveHighWaterMark(0)
                try subscriber.subscribe(SnapshotHeader.topic)
                try subscriber.setReceiveTimeout(milliseconds: 5_000)
                try subscriber.connect(endpoint)
                var count = 0
                var bytes = 0
                while count < messages, let parts = try subscriber.receiveMultipart() {
                    if parts[2].count == probe.count {
                        received.joined()  // the slow joiner is in: the timed run may start
                        continue
                    }
                    let buffer = parts[2].withUnsafeBytes { ByteBuffer(bytes: $0) }
                    bytes += buffer.readableBytes
                    count += 1
                }
                subscriber.close()
                received.finish(count: count, bytes: bytes)
            } catch {
                received.finish(count: 0, bytes: 0)
            }
        }
        receiver.start()
        while !received.hasJoined {
            try publisher.send(parts: [topic, header, probe])
            Thread.sleep(forTimeInterval: 0.01)
        }
        let started = ContinuousClock.now
        for _ in 0..<messages {
            try publisher.send(parts: [topic, header, payload])
        }
        let (count, bytes) = received.wait()
        let elapsed = started.duration(to: .now)
        let seconds = elapsed.seconds
        print("| \(payloadBytes / 1000) KB | \(count) of \(messages) | \(Int(Double(count) / seconds)) | \(Int(Double(bytes) / seconds / 1e6)) |")
    }
}

/// The receiving thread's result, handed back to the timing thread.
final class ReceiveCount: @unchecked Sendable {
    // Safe to share: every access holds `condition`.
    private let condition = NSCondition()
    private var result: (Int, Int)?
    private var didJoin = false

    func joined() { condition.withLock { didJoin = true } }
    var hasJoined: Bool { condition.withLock { didJoin } }

    func finish(count: Int, bytes: Int) {
        condition.withLock {
            result = (count, bytes)
            condition.signal()
        }
    }

    func wait() -> (Int, Int) {
        condition.withLock {
            while result == nil { condition.wait() }
            return result!
        }
    }
}
