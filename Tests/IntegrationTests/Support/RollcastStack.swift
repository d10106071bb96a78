import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import RollcastCore

/// A producer and a gateway on a free port and a private run directory, stopped on every path.
final class RollcastStack: @unchecked Sendable {
    // Safe to share: each test drives its stack from one task at a time.
    let runDirectory: String
    var producer: RollcastProcess?
    var gateway: RollcastProcess?
    var port: Int = 0
    var producerArguments: [String]

    init(producerArguments: [String] = ["--no-mock-feed", "--interval", "0.5"]) throws {
        // Short: Unix socket paths are limited to about 107 bytes.
        runDirectory = "/tmp/rci-\(UUID().uuidString.prefix(8).lowercased())"
        try FileManager.default.createDirectory(atPath: runDirectory, withIntermediateDirectories: false)
        self.producerArguments = producerArguments
    }

    /// Runs `body` with a stack, then stops both processes and removes the run directory.
    /// On failure, the processes' logs are printed to help whoever reads the CI output.
    static func with<T>(
        producerArguments: [String] = ["--no-mock-feed", "--interval", "0.5"],
        gatewayArguments: [String] = [],
        gatewayFileLimit: Int? = nil,
        startProducer: Bool = true,
        testAPI: Bool = true,
        _ body: (RollcastStack) async throws -> T
    ) async throws -> T {
        let stack = try RollcastStack(producerArguments: producerArguments)
        stack.testAPI = testAPI
        do {
            if startProducer { try stack.startProducer() }
            try await stack.startGateway(extra: gatewayArguments, fileLimit: gatewayFileLimit)
            let result = try await body(stack)
            await stack.tearDown()
            return result
        } catch {
            for process in [stack.producer, stack.gateway].compactMap({ $0 }) {
                FileHandle.standardError.write(Data("--- \(process.name) log\n\(process.log.suffix(4000))\n".utf8))
            }
            await stack.tearDown()
            throw error
        }
    }

    func tearDown() async {
        await gateway?.stop()
        await producer?.stop()
        try? FileManager.default.removeItem(atPath: runDirectory)
    }

    /// - Parameter fileSizeLimit: the largest file the producer may write, in bytes (`prlimit --fsize`), as a full disk would stop it.
    func startProducer(extra: [String] = [], fileSizeLimit: Int? = nil) throws {
        producer = try RollcastProcess(
            executable: "rollcast-producer",
            arguments: ["--run-dir", runDirectory] + producerArguments + extra,
            logPath: "\(runDirectory)/producer.log",
            limits: fileSizeLimit.map { ["--fsize=\($0)"] } ?? []
        )
    }

    /// Tests load mock data through the test API; one test checks it is off without the flag.
    var testAPI = true

    func startGateway(port requested: Int = 0, extra: [String] = [], fileLimit: Int? = nil) async throws {
        let portFile = "\(runDirectory)/port"
        try? FileManager.default.removeItem(atPath: portFile)
        gateway = try RollcastProcess(
            executable: "rollcast-gateway",
            arguments: [
                "--run-dir", runDirectory, "--port", "\(requested)", "--port-file", portFile,
                "--web-root", "\(TestEnvironment.repositoryRoot)/web",
            ] + (testAPI ? ["--enable-test-api"] : []) + extra,
            logPath: "\(runDirectory)/gateway.log",
            fileLimit: fileLimit
        )
        port = try await poll("the gateway's port file", within: .seconds(20)) {
            (try? String(contentsOfFile: portFile, encoding: .utf8)).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
    }

    var baseURL: String { "http://127.0.0.1:\(port)" }
    var webSocketURL: String { "ws://127.0.0.1:\(port)/ws/realtime_charts" }

    func waitUntilReady(within limit: Duration = .seconds(15)) async throws {
        _ = try await poll("the gateway to report ready", within: limit) {
            try? await self.request(.GET, "/readyz").status == .ok ? true : nil
        }
    }

    struct HTTPAnswer {
        let status: HTTPResponseStatus
        let headers: HTTPHeaders
        let body: String

        /// The `error` field of a JSON error answer.
        var errorReason: String? {
            (try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])?["error"] as? String
        }
    }

    func request(_ method: HTTPMethod, _ path: String, body: String? = nil, timeout: Duration = .seconds(10)) async throws -> HTTPAnswer {
        try await request(method, path, rawBody: body.map { Array($0.utf8) }, timeout: timeout)
    }

    /// - Parameter headers: headers to add; a `Content-Type` here replaces the JSON default.
    func request(
        _ method: HTTPMethod, _ path: String, rawBody: [UInt8]?, headers: [(String, String)] = [], timeout: Duration = .seconds(10)
    ) async throws -> HTTPAnswer {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        if let rawBody {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: rawBody))
        }
        for (name, value) in headers { request.headers.replaceOrAdd(name: name, value: value) }
        let response = try await testHTTPClient.execute(request, timeout: .init(timeout))
        let bytes = try await response.body.collect(upTo: 64 << 20)
        return HTTPAnswer(status: response.status, headers: response.headers, body: String(buffer: bytes))
    }
}

struct TimeoutError: Error, CustomStringConvertible {
    let what: String
    var description: String { "timed out waiting for \(what)" }
}

/// Calls `condition` every 20 ms until it returns a value; throws ``TimeoutError`` after `limit`.
func poll<T>(_ what: String, within limit: Duration, _ condition: () async throws -> T?) async throws -> T {
    let deadline = ContinuousClock.now.advanced(by: limit)
    while ContinuousClock.now < deadline {
        if let value = try await condition() { return value }
        try await Task.sleep(for: .milliseconds(20))
    }
    throw TimeoutError(what: what)
}

/// The tests' HTTP client. It drops a pooled connection after 5 s idle, well before the
/// gateway's 15 s `--idle-timeout`, as a client that knows the server's idle timeout does:
/// otherwise a request sent on a connection the gateway is closing at that moment fails with
/// "I/O on closed channel" (seen after a gateway resumed from SIGSTOP).
let testHTTPClient: HTTPClient = {
    var configuration = HTTPClient.Configuration()
    configuration.connectionPool = .init(idleTimeout: .seconds(5))
    return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
}()

/// Runs `body`, failing with ``TimeoutError`` if it takes longer than `limit`.
func withTimeout<T: Sendable>(_ limit: Duration, _ what: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: limit)
            throw TimeoutError(what: what)
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}

extension RollcastStack {
    /// Posts a batch to `/api/ingest`, expecting 200.
    func ingest(_ body: String) async throws -> IngestResult {
        let answer = try await request(.POST, "/api/ingest", body: body)
        guard answer.status == .ok else { throw IngestRefused(status: Int(answer.status.code), body: answer.body) }
        return try JSONDecoder().decode(IngestResult.self, from: Data(answer.body.utf8))
    }

    struct IngestRefused: Error, CustomStringConvertible {
        let status: Int
        let body: String
        var description: String { "ingest answered \(status): \(body)" }
    }

    /// The chart of `symbol` in the first window served at or after `seq`.
    func chart(_ symbol: String, fromSeq seq: UInt64, within limit: Duration = .seconds(5)) async throws -> ChartObject {
        try await poll("\(symbol) in a window from seq \(seq)", within: limit) { () -> ChartObject? in
            try await self.window().first { $0.symbol == symbol && $0.seq >= seq }
        }
    }

    /// Every chart of the current window, from `GET /api/realtime_window`.
    func window() async throws -> [ChartObject] {
        let answer = try await request(.GET, "/api/realtime_window")
        guard answer.status == .ok else { return [] }
        return try answer.body.split(separator: "\n").map { try JSONDecoder().decode(ChartObject.self, from: Data($0.utf8)) }
    }
}

extension RollcastStack {
    /// The gateway's `/api/status`, with the producer's part decoded.
    struct StatusAnswer: Decodable {
        let producer: ProducerStatus?
    }

    /// The producer's status as the gateway reports it.
    func producerStatus() async throws -> ProducerStatus? {
        let answer = try await request(.GET, "/api/status")
        return try JSONDecoder().decode(StatusAnswer.self, from: Data(answer.body.utf8)).producer
    }

    /// `ipc://` endpoint of the producer's ingest socket.
    var ingestEndpoint: String { "ipc://\(runDirectory)/ingest.sock" }
}
