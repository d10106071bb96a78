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
}
