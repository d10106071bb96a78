import ArgumentParser
import NIOCore
import Foundation

/// What the fan-out benchmark serves clients from: Rollcast's gateway (``BenchStack``), or a
/// relay it is compared with in the same run, at the same bytes per client.
protocol MeasuredRelay: AnyObject {
    var port: Int { get }
    /// The WebSocket's path on it.
    var path: String { get }
    /// CPU seconds used so far by its processes (all of them: nginx's workers too).
    var cpuSeconds: Double { get }
    /// Resident memory of its processes now, in KiB.
    var residentKiB: Int { get }
    func stop()
}

/// The relays the gateway is compared with.
enum ComparedRelay: String, CaseIterable, ExpressibleByArgument {
    /// ``FloorRelay``: the least a relay on NIO can do.
    case floor
    /// Nchan 1.3 on nginx (Debian's `libnginx-mod-nchan`), 2 workers, messages POSTed to it.
    case nchan
}

/// The floor relay as a process of its own (this program's `floor-relay`), so that its CPU is
/// measured apart from the load generator's.
final class FloorProcess: MeasuredRelay {
    private let process = Process()
    private let directory: String
    private(set) var port = 0
    let path = "/ws/realtime_charts"

    init(bytes: Int, interval: Double) async throws {
        directory = "/tmp/rcf-\(UUID().uuidString.prefix(8).lowercased())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        process.arguments = ["floor-relay", "--port-file", "\(directory)/port", "--bytes", "\(bytes)", "--interval", "\(interval)"]
        try process.run()
        port = try await waitForPortFile("\(directory)/port")
    }

    var cpuSeconds: Double { ProcessStats(pid: process.processIdentifier).cpuSeconds }
    var residentKiB: Int { ProcessStats(pid: process.processIdentifier).memoryKiB.resident }

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// nginx with the Nchan module: subscribers on a `nchan_subscriber websocket` location, each
/// message POSTed once per interval to a `nchan_publisher` location by this process (which
/// costs the load generator a request a second, nothing per client).
final class NchanProcess: MeasuredRelay {
    private let process = Process()
    private let directory: String
    private(set) var port = 0
    let path = "/sub"
    private var publisher: Task<Void, Never>?

    /// - Parameter tools: the folder holding `nginx` and `ngx_nchan_module.so` (`./run.sh bench` puts them in `.build-tools/`).
    init(tools: String, bytes: Int, interval: Double) async throws {
        let nginx = "\(tools)/nginx"
        let module = URL(fileURLWithPath: "\(tools)/ngx_nchan_module.so").standardizedFileURL.path
        guard FileManager.default.isExecutableFile(atPath: nginx), FileManager.default.fileExists(atPath: module) else {
            throw ValidationError("no nginx with Nchan in \(tools): run ./run.sh bench (it fetches them), or give --nchan-tools")
        }
        directory = "/tmp/rcn-\(UUID().uuidString.prefix(8).lowercased())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        // nginx checks its built-in temporary folder even when told another.
        try FileManager.default.createDirectory(atPath: "/var/lib/nginx", withIntermediateDirectories: true)
        port = try freeLoopbackPort()
        let configuration = """
            load_module \(module);
            worker_processes 2;
            daemon off;
            master_process on;
            pid \(directory)/nginx.pid;
            error_log \(directory)/error.log warn;
            events { worker_connections 30000; }
            http {
              access_log off;
              client_body_temp_path \(directory)/body;
              proxy_temp_path \(directory)/proxy;
              fastcgi_temp_path \(directory)/fastcgi;
              uwsgi_temp_path \(directory)/uwsgi;
              scgi_temp_path \(directory)/scgi;
              server {
                listen 127.0.0.1:\(port) backlog=4096;
                location = /pub { nchan_publisher; nchan_channel_id charts; nchan_message_buffer_length 1; }
                location = /sub { nchan_subscriber websocket; nchan_channel_id charts; nchan_subscriber_first_message newest; }
              }
            }
            """
        try configuration.write(toFile: "\(directory)/nginx.conf", atomically: true, encoding: .utf8)
        process.executableURL = URL(fileURLWithPath: nginx)
        process.arguments = ["-p", directory, "-c", "\(directory)/nginx.conf"]
        process.standardError = FileHandle.standardError
        try process.run()
        let deadline = ContinuousClock.now.advanced(by: .seconds(10))
        while ContinuousClock.now < deadline {
            if let fd = connectedLoopbackSocket(port: UInt16(port)) {
                close(fd)
                break
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        publisher = startPublishing(every: interval, bytes: bytes, port: port)
    }

    /// Publishes a message of `bytes` every `interval` seconds until cancelled, on one kept-alive connection.
    static func publish(every interval: Double, bytes: Int, port: Int) async {
        var seq: UInt64 = 0
        var fd: Int32?
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(interval))
            seq += 1
            if fd == nil { fd = connectedLoopbackSocket(port: UInt16(port)) }
            guard let socket = fd else { continue }
            if !publish(RelayMessage.make(seq: seq, bytes: bytes), on: socket, port: port) {
                close(socket)
                fd = nil
            }
        }
        if let fd { close(fd) }
    }

    /// POSTs `message` on a kept-alive connection and reads the answer's head and body.
    private static func publish(_ message: ByteBuffer, on fd: Int32, port: Int) -> Bool {
        var request = Array("POST /pub HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nContent-Type: application/json\r\nContent-Length: \(message.readableBytes)\r\n\r\n".utf8)
        request += message.readableBytesView
        var offset = 0
        while offset < request.count {
            let sent = request[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { return false }
            offset += sent
        }
        var answer = [UInt8](repeating: 0, count: 4096)
        let got = answer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        return got > 0
    }

    /// The master and its workers.
    private var pids: [Int32] {
        let master = process.processIdentifier
        let children = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap(Int32.init).filter { pid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let end = stat.range(of: ") ") else { return false }
            return stat[end.upperBound...].split(separator: " ").dropFirst().first.flatMap { Int32($0) } == master
        }
        return [master] + children
    }

    var cpuSeconds: Double { pids.reduce(0) { $0 + ProcessStats(pid: $1).cpuSeconds } }
    var residentKiB: Int { pids.reduce(0) { $0 + ProcessStats(pid: $1).memoryKiB.resident } }

    func stop() {
        publisher?.cancel()
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// Nchan's publisher, as a task of its own.
private func startPublishing(every interval: Double, bytes: Int, port: Int) -> Task<Void, Never> {
    Task.detached { await NchanProcess.publish(every: interval, bytes: bytes, port: port) }
}

/// Waits up to 30 s for `path` to hold a port number.
func waitForPortFile(_ path: String) async throws -> Int {
    let deadline = ContinuousClock.now.advanced(by: .seconds(30))
    while ContinuousClock.now < deadline {
        if let text = try? String(contentsOfFile: path, encoding: .utf8), let port = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)), port > 0 {
            return port
        }
        try await Task.sleep(for: .milliseconds(50))
    }
    throw ValidationError("no port in \(path) within 30 s")
}

/// A port on 127.0.0.1 that was free a moment ago.
func freeLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = loopbackAddress(port: 0)
    let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    guard bound == 0 else { throw ValidationError("no free port") }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(fd, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}
