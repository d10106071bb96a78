import Foundation
import ZeroMQ

/// What a server socket on `tcp://` needs for CURVE: its own key pair, and the public keys of
/// the peers it lets in.
public struct CurveServerSettings: Sendable {
    public let keyPair: CurveKeyPair
    public let allowedKeys: Set<String>

    public init(keyPair: CurveKeyPair, allowedKeys: Set<String>) {
        self.keyPair = keyPair
        self.allowedKeys = allowedKeys
    }
}

extension CurveServerSettings {
    /// The settings from a secret key file and files of admitted keys, or `nil` without a key.
    /// - Parameter admitted: who the admitted keys belong to, for the error without them.
    public static func resolve(secretKey path: String?, allowFiles: [String], admitted: String) throws -> CurveServerSettings? {
        guard let path else {
            guard allowFiles.isEmpty else { throw CurveKeyFile.Problem(description: "--curve-allow goes with --curve-secret-key") }
            return nil
        }
        guard !allowFiles.isEmpty else {
            throw CurveKeyFile.Problem(description: "--curve-secret-key needs --curve-allow: the public keys of the \(admitted) to admit")
        }
        let keyPair = try CurveKeyFile.readSecret(path: path, flag: "--curve-secret-key")
        let allowed = try allowFiles.flatMap { try CurveKeyFile.readKeys(path: $0, flag: "--curve-allow") }
        return CurveServerSettings(keyPair: keyPair, allowedKeys: Set(allowed))
    }
}

/// What a client socket on `tcp://` needs for CURVE: its own key pair, and the server's public key.
public struct CurveClientSettings: Sendable {
    public let keyPair: CurveKeyPair
    public let serverKey: String

    public init(keyPair: CurveKeyPair, serverKey: String) {
        self.keyPair = keyPair
        self.serverKey = serverKey
    }
}

/// Key files as `rollcast-keygen` writes them: one key in Z85 text (40 characters) per line.
public enum CurveKeyFile {
    public struct Problem: Error, CustomStringConvertible {
        public let description: String
    }

    /// A secret key file: its key pair. The file must be readable by its owner only.
    public static func readSecret(path: String, flag: String) throws -> CurveKeyPair {
        var info = stat()
        guard stat(path, &info) == 0 else { throw Problem(description: "\(flag) \(path): \(String(cString: strerror(errno)))") }
        guard info.st_mode & 0o077 == 0 else {
            throw Problem(description: "\(flag) \(path) may be read by others (mode \(String(info.st_mode & 0o777, radix: 8))); run: chmod 600 \(path)")
        }
        let keys = try readKeys(path: path, flag: flag)
        guard keys.count == 1, let pair = try? ZMQCurve.keyPair(secretKey: keys[0]) else {
            throw Problem(description: "\(flag) \(path) must hold one secret key, as rollcast-keygen writes it")
        }
        return pair
    }

    /// The one public key of a peer's `.pub` file (`whose`: "the broker's", for the error).
    public static func readPeerKey(path: String, flag: String, whose: String) throws -> String {
        let keys = try readKeys(path: path, flag: flag)
        guard keys.count == 1 else { throw Problem(description: "\(flag) \(path) must hold one public key, \(whose)") }
        return keys[0]
    }

    /// Public keys, one per line (blank lines and `#` comments allowed).
    public static func readKeys(path: String, flag: String) throws -> [String] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw Problem(description: "\(flag) \(path) cannot be read")
        }
        var keys: [String] = []
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let key = line.trimmingCharacters(in: .whitespaces)
            if key.isEmpty || key.hasPrefix("#") { continue }
            guard ZMQCurve.isValidKey(key) else {
                throw Problem(description: "\(flag) \(path):\(number + 1): not a key (40 characters of Z85, as rollcast-keygen writes them)")
            }
            keys.append(key)
        }
        guard !keys.isEmpty else { throw Problem(description: "\(flag) \(path) holds no key") }
        return keys
    }
}
