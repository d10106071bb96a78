import Foundation

/// The HS256 key tokens are signed with, read from `--jwt-secret-file`.
///
/// The key is the file's bytes less one trailing newline (what `echo` or an editor leaves).
/// A file others can read is refused: anyone who has the key can mint a `write` token.
public enum JWTSecretFile {
    /// Fewer bytes than this is a password, not a key (RFC 7518 §3.2 asks for at least the hash's 32).
    public static let minimumBytes = 32

    public struct Problem: Error, CustomStringConvertible {
        public let description: String
    }

    public static func read(path: String) throws -> [UInt8] {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw Problem(description: "--jwt-secret-file \(path): \(String(cString: strerror(errno)))")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw Problem(description: "--jwt-secret-file \(path) is not a regular file")
        }
        guard info.st_mode & 0o077 == 0 else {
            let mode = String(info.st_mode & 0o777, radix: 8)
            throw Problem(description: "--jwt-secret-file \(path) may be read by others (mode \(mode)); run: chmod 600 \(path)")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Problem(description: "--jwt-secret-file \(path) cannot be read")
        }
        var key = [UInt8](data)
        if key.last == UInt8(ascii: "\n") { key.removeLast() }
        if key.last == UInt8(ascii: "\r") { key.removeLast() }
        guard key.count >= minimumBytes else {
            throw Problem(
                description: "--jwt-secret-file \(path) holds \(key.count) bytes; a key needs at least \(minimumBytes) (make one with: head -c 48 /dev/urandom | base64 > \(path))"
            )
        }
        return key
    }
}
