import Foundation
import Synchronization
import Testing
import ZeroMQ

@Suite("CURVE and ZAP")
struct CurveTests {
    @Test("key pairs: Z85 text of 32 bytes; a secret key gives back its public key; bad text is refused")
    func keys() throws {
        #expect(ZMQCurve.isAvailable)
        let pair = try ZMQCurve.generateKeyPair()
        #expect(pair.publicKey.utf8.count == 40 && pair.secretKey.utf8.count == 40)
        #expect(try ZMQCurve.keyPair(secretKey: pair.secretKey) == pair)
        #expect(ZMQCurve.encode(try #require(ZMQCurve.decode(pair.publicKey))) == pair.publicKey)
        #expect(!ZMQCurve.isValidKey("too short"))
        #expect(throws: ZMQError.self) { try ZMQCurve.keyPair(secretKey: String(repeating: "~", count: 41)) }
    }

    /// A subscriber with `keyPair` to a CURVE publisher on 127.0.0.1: whether it gets a message within 1.5 s.
    static func receives(publisherPair: CurveKeyPair, serverKeyGiven: String, clientPair: CurveKeyPair, allowed: Set<String>) throws -> (Bool, [String]) {
        let context = try ZMQContext()
        let asked = Mutex<[String]>([])
        let handler = try ZAPHandler(context: context, name: "zap-test") { request in
            asked.withLock { $0.append(request.publicKey) }
            return allowed.contains(request.publicKey)
        }
        defer { handler.stop() }
        let publisher = try ZMQSocket(context: context, type: .pub)
        try publisher.makeCurveServer(secretKey: publisherPair.secretKey, domain: "test")
        try publisher.bind("tcp://127.0.0.1:0")
        let endpoint = try publisher.lastEndpoint
        let clientContext = try ZMQContext()
        let subscriber = try ZMQSocket(context: clientContext, type: .sub)
        try subscriber.makeCurveClient(keyPair: clientPair, serverKey: serverKeyGiven)
        try subscriber.subscribe("")
        try subscriber.setReceiveTimeout(milliseconds: 50)
        try subscriber.connect(endpoint)
        let deadline = Date().addingTimeInterval(1.5)
        var got = false
        while !got, Date() < deadline {
            try publisher.send(parts: [Array("hello".utf8)])
            got = try subscriber.receiveMultipart() != nil
        }
        subscriber.close()
        publisher.close()
        return (got, asked.withLock { $0 })
    }

    @Test("a client whose key the ZAP handler allows gets messages; one it refuses, or one with the wrong server key, gets nothing")
    func authentication() throws {
        let server = try ZMQCurve.generateKeyPair()
        let client = try ZMQCurve.generateKeyPair()
        let stranger = try ZMQCurve.generateKeyPair()
        let (allowedGets, askedAllowed) = try Self.receives(publisherPair: server, serverKeyGiven: server.publicKey, clientPair: client, allowed: [client.publicKey])
        #expect(allowedGets)
        #expect(askedAllowed.contains(client.publicKey))
        let (strangerGets, askedStranger) = try Self.receives(publisherPair: server, serverKeyGiven: server.publicKey, clientPair: stranger, allowed: [client.publicKey])
        #expect(!strangerGets, "a key not allowed got messages")
        #expect(askedStranger.contains(stranger.publicKey), "the refusal went through the handler")
        let (wrongServerGets, _) = try Self.receives(publisherPair: server, serverKeyGiven: stranger.publicKey, clientPair: client, allowed: [client.publicKey])
        #expect(!wrongServerGets, "a client that expects another server's key got messages")
    }
}
