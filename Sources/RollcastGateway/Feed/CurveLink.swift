import RollcastCore
import ZeroMQ

/// Makes a gateway's socket to the producer a CURVE client when the link is `tcp://`.
enum CurveLink {
    static func secure(_ socket: ZMQSocket, endpoint: String, curve: CurveClientSettings?) throws {
        guard endpoint.hasPrefix("tcp://"), let curve else { return }
        try socket.makeCurveClient(keyPair: curve.keyPair, serverKey: curve.serverKey)
    }
}
