import Foundation
import Logging
import Synchronization
import ZeroMQ

/// Guards the socket files behind `ipc://` endpoints.
///
/// libzmq replaces an existing socket file on bind without a word, so a second producer
/// on the same run directory would silently take the feed from the first. A file that
/// still accepts connections belongs to a live process: refuse it. A file that does not
/// is left over from a crash: bind over it.
public enum IPCEndpoint {
    public struct InUseError: Error, CustomStringConvertible {
        public let endpoint: String
        public var description: String { "\(endpoint) is in use by another running process" }
    }

    /// Throws ``InUseError`` if a live process is listening on the endpoint's socket file.
    public static func claim(_ endpoint: String) throws {
        guard let path = ipcSocketPath(of: endpoint), FileManager.default.fileExists(atPath: path) else { return }
        if isListening(path) { throw InUseError(endpoint: endpoint) }
    }

    /// Claims `endpoint` (see ``claim(_:)``), binds `socket` to it and has `watch` keep an eye
    /// on the socket file it made. On a `tcp://` endpoint with `curve`, the socket is a CURVE
    /// server whose peers are admitted by key (a ``ZAPHandler`` in its context, refusals logged).
    /// - Returns: the socket file and the key check, to release when the socket closes.
    public static func bind(_ socket: ZMQSocket, to endpoint: String, watch: SocketFileWatch, curve: CurveServerSettings?, logger: Logger) throws -> BoundEndpoint {
        try claim(endpoint)
        var zap: ZAPHandler?
        if endpoint.hasPrefix("tcp://"), let curve {
            let refusals = RefusalLog(logger: logger, message: "peer refused: its CURVE key is not allowed")
            zap = try ZAPHandler(context: socket.context, name: "rollcast-zap") { request in
                guard curve.allowedKeys.contains(request.publicKey) else {
                    refusals.note("key not allowed", metadata: ["peer": "\(request.address)", "key": "\(request.publicKey)", "endpoint": "\(endpoint)"])
                    return false
                }
                return true
            }
            try socket.makeCurveServer(secretKey: curve.keyPair.secretKey, domain: "rollcast")
        }
        do {
            try socket.bind(endpoint)
        } catch {
            zap?.stop()
            throw error
        }
        let file = ipcSocketPath(of: endpoint).flatMap(BoundSocketFile.init(path:))
        watch.watch(file)
        return BoundEndpoint(file: file, zap: zap)
    }

    private static func isListening(_ path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
        }
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) == 0
            }
        }
    }
}

/// What binding an endpoint left to undo: its socket file, its key check.
public struct BoundEndpoint: Sendable {
    public let file: BoundSocketFile?
    public let zap: ZAPHandler?

    public init(file: BoundSocketFile?, zap: ZAPHandler?) {
        self.file = file
        self.zap = zap
    }

    /// Stops the key check and removes the socket file (if it is still this process's).
    public func release() {
        zap?.stop()
        file?.remove()
    }
}

/// A socket file this process bound, known by its inode: only it is ever removed, and its
/// loss (the run directory deleted, another producer binding over it) can be noticed.
public struct BoundSocketFile: Sendable, Equatable {
    public let path: String
    let device: UInt64
    let inode: UInt64

    public init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        self.path = path
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
    }

    /// Whether the file at `path` is still the one bound.
    public var isStillOurs: Bool {
        var info = stat()
        return stat(path, &info) == 0 && UInt64(info.st_dev) == device && UInt64(info.st_ino) == inode
    }

    /// Removes the file if it is still ours; another process's file at the same path stays.
    public func remove() {
        if isStillOurs { unlink(path) }
    }
}

/// The socket files of this process, checked once per snapshot: a producer whose run
/// directory vanished (or whose files another producer replaced) can no longer be reached,
/// and stops so that its supervisor starts a fresh one.
public final class SocketFileWatch: Sendable {
    private let files = Mutex<[BoundSocketFile]>([])

    public init() {}

    public func watch(_ file: BoundSocketFile?) {
        guard let file else { return }
        files.withLock { $0.append(file) }
    }

    /// The first watched file that is gone or replaced.
    public func lost() -> BoundSocketFile? {
        files.withLock { $0.first { !$0.isStillOurs } }
    }
}
