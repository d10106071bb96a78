import CZMQ

/// A CURVE key pair, each key in Z85 text (40 characters), as `zmq_curve_keypair` makes them.
public struct CurveKeyPair: Sendable, Equatable {
    public let publicKey: String
    public let secretKey: String

    public init(publicKey: String, secretKey: String) {
        self.publicKey = publicKey
        self.secretKey = secretKey
    }
}

/// ZeroMQ's CURVE security (RFC 26, CurveZMQ): links encrypted and peers authenticated by key.
public enum ZMQCurve {
    /// Whether this libzmq was built with CURVE.
    public static var isAvailable: Bool { zmq_has("curve") == 1 }

    /// A new key pair.
    public static func generateKeyPair() throws -> CurveKeyPair {
        var publicKey = [CChar](repeating: 0, count: 41)
        var secretKey = [CChar](repeating: 0, count: 41)
        guard zmq_curve_keypair(&publicKey, &secretKey) == 0 else { throw ZMQError.last("zmq_curve_keypair") }
        return CurveKeyPair(publicKey: String(cString: publicKey), secretKey: String(cString: secretKey))
    }

    /// The key pair a secret key belongs to.
    public static func keyPair(secretKey: String) throws -> CurveKeyPair {
        guard isValidKey(secretKey) else { throw ZMQError(code: EINVAL, operation: "zmq_curve_public") }
        var publicKey = [CChar](repeating: 0, count: 41)
        guard zmq_curve_public(&publicKey, secretKey) == 0 else { throw ZMQError.last("zmq_curve_public") }
        return CurveKeyPair(publicKey: String(cString: publicKey), secretKey: secretKey)
    }

    /// A key's 32 bytes from its Z85 text, or `nil` if it is not 40 Z85 characters.
    public static func decode(_ key: String) -> [UInt8]? {
        guard key.utf8.count == 40 else { return nil }
        var bytes = [UInt8](repeating: 0, count: 32)
        return zmq_z85_decode(&bytes, key) == nil ? nil : bytes
    }

    /// A key's Z85 text from its 32 bytes.
    public static func encode(_ bytes: [UInt8]) -> String? {
        guard bytes.count == 32 else { return nil }
        var text = [CChar](repeating: 0, count: 41)
        return zmq_z85_encode(&text, bytes, 32) == nil ? nil : String(cString: text)
    }

    public static func isValidKey(_ key: String) -> Bool { decode(key) != nil }
}

extension ZMQSocket {
    /// Makes this socket the CURVE server of its links: peers must know its public key, and
    /// each peer's own key is put to the context's ZAP handler (``ZAPHandler``) under `domain`.
    /// - Important: call before `bind`.
    public func makeCurveServer(secretKey: String, domain: String) throws {
        try setOption(ZMQ_CURVE_SERVER, Int32(1))
        try setOption(ZMQ_CURVE_SECRETKEY, bytes: Array(secretKey.utf8))
        try setOption(ZMQ_ZAP_DOMAIN, bytes: Array(domain.utf8))
    }

    /// Makes this socket a CURVE client that accepts only the server holding `serverKey`.
    /// - Important: call before `connect`.
    public func makeCurveClient(keyPair: CurveKeyPair, serverKey: String) throws {
        try setOption(ZMQ_CURVE_SERVERKEY, bytes: Array(serverKey.utf8))
        try setOption(ZMQ_CURVE_PUBLICKEY, bytes: Array(keyPair.publicKey.utf8))
        try setOption(ZMQ_CURVE_SECRETKEY, bytes: Array(keyPair.secretKey.utf8))
    }
}
