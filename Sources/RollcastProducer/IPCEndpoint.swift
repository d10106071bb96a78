import Foundation
import RollcastCore

/// Guards the socket files behind `ipc://` endpoints.
///
/// libzmq replaces an existing socket file on bind without a word, so a second producer
/// on the same run directory would silently take the feed from the first. A file that
/// still accepts connections belongs to a live process: refuse it. A file that does not
/// is left over from a crash: bind over it.
enum IPCEndpoint {
    struct InUseError: Error, CustomStringConvertible {
        let endpoint: String
        var description: String { "\(endpoint) is in use by another running process" }
    }

    /// Throws ``InUseError`` if a live process is listening on the endpoint's socket file.
    static func claim(_ endpoint: String) throws {
        guard let path = ipcSocketPath(of: endpoint), FileManager.default.fileExists(atPath: path) else { return }
        if isListening(path) { throw InUseError(endpoint: endpoint) }
    }

    /// Removes the endpoint's socket file, if it has one.
    static func release(_ endpoint: String) {
        guard let path = ipcSocketPath(of: endpoint) else { return }
        unlink(path)
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
