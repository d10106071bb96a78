import ArgumentParser
import Foundation
import NIOCore
import RollcastCore
import Synchronization
import ZeroMQ

/// What `rollcast-broker` costs: snapshots per second it forwards from one producer to 1, 2 and
/// 4 gateways over ipc://, and its CPU per GB delivered, against copying each payload once per
/// gateway (out of cache) in this process in the same run. The sender keeps at most
/// ``window`` snapshots ahead of the slowest gateway, so none is dropped at a queue's limit.
struct BrokerBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "broker", abstract: "Snapshots through a real rollcast-broker, producer side to gateway side.")

    @Option(help: "Folder of rollcast-broker (default: beside this program).")
    var binDir: String?

    func run() throws {
        print("| payload | gateways | delivered | snapshots/s | MB/s per gateway | broker CPU | broker CPU per GB delivered | one copy per gateway, per GB | broker ÷ copy | one Unix-socket write per gateway, per GB | broker ÷ write |")
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        for (size, count) in [(160_000, 4_000), (2_000_000, 400)] {
            for gateways in [1, 2, 4] { try relay(payloadBytes: size, messages: count, gateways: gateways) }
        }
    }

    /// Snapshots the sender may be ahead of the slowest gateway: the broker queues 2 per
    /// gateway (past that a slow gateway misses snapshots, as it should), the socket buffers about one more.
    static let window = 3

    func relay(payloadBytes: Int, messages: Int, gateways: Int) throws {
        let directory = try makeBenchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let broker = Process()
        broker.executableURL = URL(fileURLWithPath: "\(benchBinDirectory(binDir))/rollcast-broker")
        broker.arguments = ["--run-dir", directory, "--log-level", "warning"]
        broker.standardError = FileHandle.standardError
        try broker.run()
        defer {
            broker.terminate()
            broker.waitUntilExit()
        }
        let run = RunDirectory(path: directory)
        let context = try ZMQContext()
        let publisher = try ZMQSocket(context: context, type: .pub)
        try publisher.setSendHighWaterMark(0)
        try publisher.connect(run.brokerProducerEndpoint)

        let receivers = (0..<gateways).map { _ in ReceiveCount() }
        let counts = (0..<gateways).map { _ in Counter() }
        for (received, done) in zip(receivers, counts) {
            Thread {
                do {
                    let subscriber = try ZMQSocket(context: context, type: .sub)
                    try subscriber.setReceiveHighWaterMark(0)
                    try subscriber.subscribe(SnapshotHeader.topic)
                    // Short: a snapshot lost on the way must not be waited for long.
                    try subscriber.setReceiveTimeout(milliseconds: 500)
                    try subscriber.connect(run.brokerGatewayEndpoint)
                    var count = 0
                    var bytes = 0

                    while count < messages, let parts = try subscriber.receiveMultipart() {
                        if parts[2].count != payloadBytes {
                            received.joined()  // a warm-up message: this subscriber is in
                            continue
                        }
                        // As the gateway does: the payload copied once into a ByteBuffer.
                        let buffer = parts[2].withUnsafeBytes { ByteBuffer(bytes: $0) }
                        bytes += buffer.readableBytes
                        count += 1
                        done.value.withLock { $0 = count }
                        done.last.withLock { $0 = .now }
                    }
                    subscriber.close()
                    received.finish(count: count, bytes: bytes)
                } catch {
                    received.finish(count: 0, bytes: 0)
                }
            }.start()
        }
        let topic = Array(SnapshotHeader.topic.utf8)
        let payload = [UInt8](repeating: UInt8(ascii: "7"), count: payloadBytes)
        var seq: UInt64 = 0
        func header() -> [UInt8] {
            seq += 1
            return Array(#"{"seq":\#(seq),"run_id":"bench","generated_at":0,"interval_ms":1000,"charts":1,"producer":"bench"}"#.utf8)
        }
        let warmUp = ContinuousClock.now
        while !receivers.allSatisfy(\.hasJoined) {
            guard warmUp.duration(to: .now) < .seconds(20) else { throw ValidationError("the broker did not relay within 20 s") }
            try publisher.send(parts: [topic, header(), Array("warm-up".utf8)])
            Thread.sleep(forTimeInterval: 0.01)
        }
        let stats = ProcessStats(pid: broker.processIdentifier)
        let cpuBefore = stats.cpuSeconds
        let started = ContinuousClock.now
        for sent in 0..<messages {
            let paceStart = ContinuousClock.now
            // Paced by the slowest gateway; one that lost a snapshot is given up on after 500 ms.
            while counts.map({ $0.value.withLock { $0 } }).min()! < sent - Self.window, paceStart.duration(to: .now) < .milliseconds(500) { usleep(50) }
            try publisher.send(parts: [topic, header(), payload])
        }
        let results = receivers.map { $0.wait() }
        let seconds = started.duration(to: counts.map { $0.last.withLock { $0 } }.max()!).seconds
        let cpu = stats.cpuSeconds - cpuBefore
        publisher.close()
        context.shutdown()

        let delivered = results.reduce(0) { $0 + $1.0 }
        let deliveredGB = Double(results.reduce(0) { $0 + $1.1 }) / 1e9
        // The same bytes copied once per gateway, here, from a source larger than the caches.
        let source = [UInt8](repeating: UInt8(ascii: "7"), count: 256 << 20)
        var target = [UInt8](repeating: 0, count: payloadBytes)
        var checksum = 0
        let copySeconds = measure {
            source.withUnsafeBytes { from in
                target.withUnsafeMutableBytes { to in
                    for index in 0..<delivered {
                        let offset = (index * payloadBytes) % (from.count - payloadBytes)
                        to.copyMemory(from: UnsafeRawBufferPointer(rebasing: from[offset..<offset + payloadBytes]))
                        checksum &+= Int(to[index % payloadBytes])
                    }
                }
            }
        }
        if checksum == -1 { progress("") }
        let writeSeconds = try unixSocketWriteSeconds(payloadBytes: payloadBytes, count: delivered)
        print(
            "| \(payloadBytes / 1000) KB | \(gateways) | \(delivered) of \(messages * gateways) | \(Int(Double(results.map(\.0).min() ?? 0) / seconds)) "
                + "| \(Int(Double(results.map(\.1).min() ?? 0) / seconds / 1e6)) | \(format(cpu, 2)) s | \(format(cpu / deliveredGB, 2)) s "
                + "| \(format(copySeconds / deliveredGB, 3)) s | \(format(cpu / copySeconds, 1))× | \(format(writeSeconds / deliveredGB, 3)) s | \(format(cpu / writeSeconds, 1))× |"
        )
    }

    /// CPU time of the writing thread alone for `count` payloads written to a Unix stream socket
    /// that another thread drains: what one socket write per gateway costs any relay, at least.
    private func unixSocketWriteSeconds(payloadBytes: Int, count: Int) throws -> Double {
        var pair: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0 else { throw ValidationError("socketpair failed") }
        let (writer, reader) = (pair[0], pair[1])
        let total = payloadBytes * count
        let drained = Thread {
            var buffer = [UInt8](repeating: 0, count: 1 << 20)
            var read = 0
            while read < total {
                let got = buffer.withUnsafeMutableBytes { recv(reader, $0.baseAddress, $0.count, 0) }
                if got <= 0 { break }
                read += got
            }
            close(reader)
        }
        drained.start()
        let payload = [UInt8](repeating: UInt8(ascii: "7"), count: payloadBytes)
        func threadCPU() -> Double {
            var time = timespec()
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
            return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
        }
        let before = threadCPU()
        for _ in 0..<count {
            var sent = 0
            while sent < payloadBytes {
                let wrote = payload.withUnsafeBytes { send(writer, $0.baseAddress! + sent, payloadBytes - sent, 0) }
                guard wrote > 0 else { break }
                sent += wrote
            }
        }
        let seconds = threadCPU() - before
        close(writer)
        return seconds
    }
}

/// Snapshots one gateway received so far, read by the sender.
private final class Counter: Sendable {
    let value = Mutex(0)
    /// When the last one arrived.
    let last = Mutex(ContinuousClock.now)
}
