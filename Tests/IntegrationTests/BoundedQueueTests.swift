import Foundation
import RollcastCore
import Testing
import ZeroMQ

@Suite("Bounded queues between processes", .serialized, .timeLimit(.minutes(2)))
struct BoundedQueueTests {
    @Test("a gateway stopped (SIGSTOP) for 20 s while large snapshots go out leaves the producer's memory flat, and catches up after")
    func stalledGateway() async throws {
        // 40 symbols ticking 20 times a second: about 1 MB a snapshot, ten snapshots a second.
        let symbols = (1...40).map { "Q\($0)" }.joined(separator: ",")
        try await RollcastStack.with(producerArguments: ["--mock-symbols", symbols, "--mock-rate", "20", "--interval", "0.1"]) { stack in
            try await stack.waitUntilReady()
            let producer = try #require(stack.producer)
            let gateway = try #require(stack.gateway)
            let snapshot = try await stack.request(.GET, "/api/status")
            #expect(snapshot.status == .ok)
            // Let the windows fill and the process settle before the baseline.
            try await Task.sleep(for: .seconds(2))
            let before = producer.residentKiB
            kill(gateway.pid, SIGSTOP)
            var peak = before
            for _ in 0..<40 {
                try await Task.sleep(for: .milliseconds(500))
                peak = max(peak, producer.residentKiB)
            }
            kill(gateway.pid, SIGCONT)
            // 200 snapshots of about a megabyte went out meanwhile; queued they would be 200 MB.
            #expect(peak - before < 40 * 1024, "producer RSS \(before) → peak \(peak) KiB while the gateway was stopped")
            // The gateway never stopped being ready (it held the last snapshot); its feed is live again.
            let run = try await ReadinessTests.readiness(stack).runID
            _ = try await poll("fresh snapshots again", within: .seconds(10)) { () -> Bool? in
                let state = try await ReadinessTests.readiness(stack)
                return state.status == .ok && state.feed == "live" && state.runID == run ? true : nil
            }
        }
    }

    @Test("a control message of a hundred 4 MiB parts is refused and its memory given back; the producer carries on")
    func manyPartControlMessage() async throws {
        try await RollcastStack.with { stack in
            try await stack.waitUntilReady()
            let producer = try #require(stack.producer)
            let before = producer.residentKiB
            let endpoint = "ipc://\(stack.runDirectory)/control.sock"
            try await Task.detached {
                let context = try ZMQContext()
                let dealer = try ZMQSocket(context: context, type: .dealer)
                try dealer.setLinger(milliseconds: 20_000)
                try dealer.connect(endpoint)
                let part = [UInt8](repeating: 0x7B, count: 4 << 20 - 16)
                // An envelope, then 100 parts just under the 4 MiB limit each.
                try dealer.send(Array("id".utf8), more: true)
                try dealer.send([UInt8](), more: true)
                for index in 0..<100 { try dealer.send(part, more: index < 99) }
                dealer.close()
            }.value
            _ = try await poll("the producer to have read the message", within: .seconds(30)) { () -> Bool? in
                producer.log.contains("parts was dropped") ? true : nil
            }
            // libzmq holds a whole multipart message before the first part can be read (measured:
            // the peak rose by the message's 400 MB); what the producer reads it drops part by
            // part, and the memory goes back once the message is gone.
            let after = try await poll("the producer's memory back", within: .seconds(10)) { () -> Int? in
                producer.residentKiB - before < 60 * 1024 ? producer.residentKiB : nil
            }
            #expect(after - before < 60 * 1024)
            #expect(try await stack.request(.POST, "/api/test/load_mock_data", body: #"{"symbols":["AFTER"]}"#).status == .ok)
        }
    }
}
