import Foundation
import Testing
import ZeroMQ

@Suite("ZeroMQ wrapper")
struct ZeroMQTests {
    /// A short private folder for ipc:// socket files (Unix socket paths are limited to ~107 bytes).
    static func socketDirectory() throws -> String {
        let path = "/tmp/rcz-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        return path
    }

    @Test("PUB/SUB over ipc:// delivers multipart messages to a matching subscription")
    func publishSubscribe() throws {
        let directory = try Self.socketDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let context = try ZMQContext()
        let publisher = try ZMQSocket(context: context, type: .pub)
        try publisher.bind("ipc://\(directory)/pub.sock")
        let subscriber = try ZMQSocket(context: context, type: .sub)
        try subscriber.subscribe("topic")
        try subscriber.setReceiveTimeout(milliseconds: 50)
        try subscriber.connect("ipc://\(directory)/pub.sock")

        // A subscriber misses what is sent before its connection is up: resend until one arrives.
        var received: [ZMQMessage]?
        let deadline = Date().addingTimeInterval(5)
        while received == nil, Date() < deadline {
            try publisher.send(parts: [Array("other".utf8), Array("ignored".utf8)])
            try publisher.send(parts: [Array("topic".utf8), Array("header".utf8), [0, 1, 2, 255]])
            received = try subscriber.receiveMultipart()
        }
        let parts = try #require(received)
        #expect(parts.map(\.bytes) == [Array("topic".utf8), Array("header".utf8), [0, 1, 2, 255]])
        #expect(parts[2].count == 4)
    }

    @Test("REQ/REP over ipc:// answers a request")
    func requestReply() throws {
        let directory = try Self.socketDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let context = try ZMQContext()
        let server = try ZMQSocket(context: context, type: .rep)
        try server.bind("ipc://\(directory)/rep.sock")
        try server.setReceiveTimeout(milliseconds: 5000)
        let client = try ZMQSocket(context: context, type: .req)
        try client.setReceiveTimeout(milliseconds: 5000)
        try client.connect("ipc://\(directory)/rep.sock")

        try client.send(Array("ping".utf8))
        let request = try #require(try server.receive())
        #expect(request.bytes == Array("ping".utf8))
        try server.send(Array("pong".utf8))
        let reply = try #require(try client.receive())
        #expect(reply.bytes == Array("pong".utf8))
    }

    @Test("a receive timeout returns nil instead of blocking")
    func receiveTimeout() throws {
        let context = try ZMQContext()
        let socket = try ZMQSocket(context: context, type: .sub)
        try socket.setReceiveTimeout(milliseconds: 20)
        try socket.connect("tcp://127.0.0.1:1")
        #expect(try socket.receive() == nil)
    }

    @Test("libzmq errors carry the call and zmq_strerror text")
    func errorText() throws {
        let context = try ZMQContext()
        let socket = try ZMQSocket(context: context, type: .pub)
        let error = try #require(throws: ZMQError.self) { try socket.bind("nonsense://x") }
        #expect(error.description.hasPrefix("zmq_bind nonsense://x: "))
        #expect(error.description.contains("not supported"))
    }

    @Test("shutting down the context ends a blocked receive on another thread")
    func shutdownUnblocksReceive() async throws {
        let context = try ZMQContext()
        let (ready, readyContinuation) = AsyncStream.makeStream(of: Void.self)
        let result = try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                try await DedicatedThread.run(name: "test-receiver", onCancel: context.shutdown) {
                    let socket = try ZMQSocket(context: context, type: .sub)
                    defer { socket.close() }
                    try socket.subscribe("")
                    try socket.connect("tcp://127.0.0.1:1")
                    // Whether the shutdown lands before or during the receive, it must end it.
                    readyContinuation.yield()
                    do {
                        _ = try socket.receive()
                        return false
                    } catch let error as ZMQError {
                        return error.isContextTerminated
                    }
                }
            }
            for await _ in ready { break }
            context.shutdown()
            return try await group.next()!
        }
        #expect(result)
    }

    @Test("a closed socket refuses further use with an error, not a crash")
    func closedSocket() throws {
        let context = try ZMQContext()
        let socket = try ZMQSocket(context: context, type: .pub)
        socket.close()
        socket.close()
        #expect(throws: ZMQError.self) { try socket.bind("ipc:///tmp/never.sock") }
    }

    @Test("a ROUTER answers DEALER requests out of order by their envelope; a poll wakes for a socket or a PollWakeup")
    func routerDealerAndPoll() throws {
        let directory = try Self.socketDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let context = try ZMQContext()
        let router = try ZMQSocket(context: context, type: .router)
        try router.bind("ipc://\(directory)/router.sock")
        let dealer = try ZMQSocket(context: context, type: .dealer)
        try dealer.setReceiveTimeout(milliseconds: 5_000)
        try dealer.connect("ipc://\(directory)/router.sock")
        let wakeup = try PollWakeup()

        // Nothing to read yet: the poll times out.
        #expect(try ZMQPoll.readable([.socket(router), .fileDescriptor(wakeup.fileDescriptor)], timeoutMilliseconds: 10) == [false, false])
        wakeup.signal()
        #expect(try ZMQPoll.readable([.socket(router), .fileDescriptor(wakeup.fileDescriptor)], timeoutMilliseconds: 1_000) == [false, true])
        wakeup.drain()
        #expect(try ZMQPoll.readable([.fileDescriptor(wakeup.fileDescriptor)], timeoutMilliseconds: 0) == [false])

        for id in ["first", "second"] { try dealer.send(parts: [Array(id.utf8), [], Array("question \(id)".utf8)]) }
        var requests: [[[UInt8]]] = []
        while requests.count < 2 {
            guard try ZMQPoll.readable([.socket(router)], timeoutMilliseconds: 5_000)[0] else { break }
            while let parts = try router.receiveMultipart(dontWait: true) { requests.append(parts.map(\.bytes)) }
        }
        #expect(requests.count == 2)
        #expect(requests.allSatisfy { $0.count == 4 && $0[2].isEmpty }, "routing id, request id, delimiter, body")
        // Answered the other way round: each reply finds its request by the envelope.
        for request in requests.reversed() { try router.send(parts: Array(request.prefix(3)) + [Array("answer to ".utf8) + request[3]]) }
        let replies = try (0..<2).map { _ in try #require(try dealer.receiveMultipart()).map(\.bytes) }
        #expect(replies.map { String(decoding: $0[0], as: UTF8.self) } == ["second", "first"])
        #expect(replies.allSatisfy { String(decoding: $0[2], as: UTF8.self) == "answer to question " + String(decoding: $0[0], as: UTF8.self) })
    }
}
