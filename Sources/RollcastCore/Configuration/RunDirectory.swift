import Foundation

/// The private folder that holds the producer's Unix sockets.
///
/// Both processes derive their default endpoints from it, so they meet without
/// configuration: `ipc://<run dir>/snapshots.sock` and `ipc://<run dir>/control.sock`; feed
/// handlers push to `ipc://<run dir>/ingest.sock`.
public struct RunDirectory: Sendable, Equatable {
    public let path: String

    public init(path: String) {
        self.path = path
    }

    /// `$XDG_RUNTIME_DIR/rollcast` when that variable is set, else `/tmp/rollcast-<uid>`.
    public static func defaultPath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let runtime = environment["XDG_RUNTIME_DIR"], !runtime.isEmpty {
            return (runtime as NSString).appendingPathComponent("rollcast")
        }
        return "/tmp/rollcast-\(getuid())"
    }

    public var snapshotEndpoint: String { "ipc://\(path)/snapshots.sock" }
    public var controlEndpoint: String { "ipc://\(path)/control.sock" }
    public var ingestEndpoint: String { "ipc://\(path)/ingest.sock" }
    /// A broker's two sides: producers publish into the first, gateways subscribe to the second.
    public var brokerProducerEndpoint: String { "ipc://\(path)/broker-in.sock" }
    public var brokerGatewayEndpoint: String { "ipc://\(path)/broker-out.sock" }

    /// Creates the folder if missing and makes it private (mode 0700).
    /// - Throws: ``RunDirectoryError`` if it cannot be created or belongs to another user.
    public func prepare() throws {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        if !manager.fileExists(atPath: path, isDirectory: &isDirectory) {
            do {
                try manager.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw RunDirectoryError(path: path, reason: "cannot be created: \(error.localizedDescription)")
            }
        } else if !isDirectory.boolValue {
            throw RunDirectoryError(path: path, reason: "exists and is not a folder")
        }
        var info = stat()
        guard stat(path, &info) == 0 else { throw RunDirectoryError(path: path, reason: "cannot be read") }
        guard info.st_uid == getuid() else {
            throw RunDirectoryError(path: path, reason: "belongs to another user; choose another with --run-dir")
        }
        if info.st_mode & 0o077 != 0, chmod(path, 0o700) != 0 {
            throw RunDirectoryError(path: path, reason: "cannot be made private (mode 0700)")
        }
    }
}

public struct RunDirectoryError: Error, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "run directory \(path) \(reason)" }
}

/// The file behind an `ipc://` endpoint, or `nil` for other transports.
public func ipcSocketPath(of endpoint: String) -> String? {
    guard endpoint.hasPrefix("ipc://") else { return nil }
    return String(endpoint.dropFirst("ipc://".count))
}
