import ArgumentParser
import Foundation
import RollcastCore
import ZeroMQ

/// Where rollcast-producer and rollcast-gateway are: `--bin-dir`, else beside this program.
func benchBinDirectory(_ flag: String?) -> String {
    flag ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path
}

/// A new private folder under /tmp for one benchmark's sockets and files; remove it when done.
func makeBenchDirectory() throws -> String {
    let directory = "/tmp/rcb-\(UUID().uuidString.prefix(8).lowercased())"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
    return directory
}

/// Starts rollcast-producer with `arguments`; its log goes to this program's standard error.
func startProducer(bin: String, arguments: [String]) throws -> Process {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "\(bin)/rollcast-producer")
    process.arguments = arguments
    process.standardError = FileHandle.standardError
    try process.run()
    return process
}

/// Asks a producer's control socket for its status, as the gateway does.
final class ControlProbe {
    private let socket: ZMQSocket

    init(context: ZMQContext, endpoint: String) throws {
        socket = try ZMQSocket(context: context, type: .dealer)
        try socket.connect(endpoint)
    }

    func status(within limit: Duration) async throws -> ProducerStatus {
        let deadline = ContinuousClock.now.advanced(by: limit)
        let request = try ControlRequest.status.parts()
        while ContinuousClock.now < deadline {
            try socket.setReceiveTimeout(milliseconds: 200)
            if try socket.send(parts: [[]] + request, dontWait: true), let parts = try socket.receiveMultipart(), parts.count == 2,
                let status = try? JSONDecoder().decode(ControlReply.self, from: Data(parts[1].bytes)).status
            {
                return status
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw ValidationError("the producer did not answer its control socket")
    }
}
