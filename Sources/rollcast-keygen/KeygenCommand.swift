import ArgumentParser
import Foundation
import ZeroMQ

/// `rollcast-keygen NAME`: a CURVE key pair for a producer, gateway or feed handler.
@main
struct KeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollcast-keygen",
        abstract: "Writes a CURVE key pair for tcp:// links: NAME.key (secret, mode 600) and NAME.pub (public).",
        discussion: """
            Give a process its NAME.key (--curve-secret-key); give its peers NAME.pub: a producer lists its \
            gateways' and feed handlers' .pub files with --curve-allow, a gateway names the producer's with \
            --curve-server-key. Example: rollcast-keygen /etc/rollcast/producer
            """
    )

    @Argument(help: "Path and name of the two files, without extension.")
    var name: String

    func run() throws {
        guard ZMQCurve.isAvailable else { throw ValidationError("this libzmq was built without CURVE") }
        let secretPath = name + ".key"
        let publicPath = name + ".pub"
        for path in [secretPath, publicPath] where FileManager.default.fileExists(atPath: path) {
            throw ValidationError("\(path) exists; a key is not overwritten (remove it first if you mean to replace it)")
        }
        let pair = try ZMQCurve.generateKeyPair()
        // Created 0600 from the start: the secret is never readable by others, not even for a moment.
        guard FileManager.default.createFile(atPath: secretPath, contents: Data((pair.secretKey + "\n").utf8), attributes: [.posixPermissions: 0o600]) else {
            throw ValidationError("\(secretPath) cannot be written")
        }
        guard FileManager.default.createFile(atPath: publicPath, contents: Data((pair.publicKey + "\n").utf8), attributes: [.posixPermissions: 0o644]) else {
            throw ValidationError("\(publicPath) cannot be written")
        }
        print(pair.publicKey)
        FileHandle.standardError.write(Data("wrote \(secretPath) (secret, mode 600) and \(publicPath) (public)\n".utf8))
    }
}
