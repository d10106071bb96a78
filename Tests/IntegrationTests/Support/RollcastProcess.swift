import Foundation

/// One spawned `rollcast-producer` or `rollcast-gateway`, logging to a file.
final class RollcastProcess: @unchecked Sendable {
    // Safe to share: `Process` is only started in init and then read or signalled.
    let name: String
    let process = Process()
    let logPath: String

    /// - Parameters:
    ///   - fileLimit: the process's open-file limit, soft and hard (set by `prlimit`, which
    ///     then becomes the process: the same PID).
    ///   - limits: more `prlimit` options (`--fsize=…`).
    init(executable: String, arguments: [String], logPath: String, fileLimit: Int? = nil, limits: [String] = []) throws {
        name = executable
        self.logPath = logPath
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        log.seekToEndOfFile()
        let path = "\(TestEnvironment.binDirectory)/\(executable)"
        let limits = (fileLimit.map { ["--nofile=\($0):\($0)"] } ?? []) + limits
        if !limits.isEmpty {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/prlimit")
            process.arguments = limits + ["--", path] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: path)
            process.arguments = arguments
        }
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    /// Sends `signal`, waits up to `deadline` for the exit, then SIGKILLs.
    /// - Returns: the exit status, or `nil` if the process had to be killed.
    @discardableResult
    func stop(signal: Int32 = SIGTERM, deadline: Duration = .seconds(5)) async -> Int32? {
        guard process.isRunning else { return process.terminationStatus }
        kill(pid, signal)
        if await waitForExit(within: deadline) {
            return process.terminationReason == .exit ? process.terminationStatus : -process.terminationStatus
        }
        kill(pid, SIGKILL)
        _ = await waitForExit(within: .seconds(5))
        return nil
    }

    /// Polls for the process to end; `true` if it did within `limit`.
    func waitForExit(within limit: Duration) async -> Bool {
        let deadline = ContinuousClock.now.advanced(by: limit)
        while process.isRunning {
            if ContinuousClock.now >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return true
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
}

enum TestEnvironment {
    /// Where the built executables are: `ROLLCAST_BIN_DIR`, else beside the test bundle.
    static let binDirectory: String = {
        if let configured = ProcessInfo.processInfo.environment["ROLLCAST_BIN_DIR"], !configured.isEmpty {
            return configured
        }
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        // The runner may sit inside an .xctest bundle folder.
        while url.path != "/", !FileManager.default.fileExists(atPath: url.appendingPathComponent("rollcast-producer").path) {
            url.deleteLastPathComponent()
        }
        return url.path
    }()

    /// The repository root, for the `web/` folder.
    static let repositoryRoot: String = {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().path
    }()
}

extension RollcastProcess {
    /// Resident memory in KiB, from /proc/<pid>/status.
    var residentKiB: Int { statusField("VmRSS:") }

    /// The most resident memory the process has had, in KiB.
    var peakResidentKiB: Int { statusField("VmHWM:") }

    private func statusField(_ name: String) -> Int {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix(name) } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }

    /// Open file descriptors, from /proc/<pid>/fd.
    var openFileDescriptors: Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? 0
    }
}
