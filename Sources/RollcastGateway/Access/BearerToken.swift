import Foundation
import NIOHTTP1

/// Where a client puts its token.
enum BearerToken {
    /// The prefix of the WebSocket subprotocol that carries a token: browsers cannot set
    /// `Authorization` on a WebSocket, but they can offer subprotocols.
    static let subprotocolPrefix = "bearer."

    /// The token of `Authorization: Bearer <token>` (the scheme in any case, RFC 7235 §2.1).
    static func fromAuthorization(_ authorization: String?) -> String? {
        guard let authorization else { return nil }
        let parts = authorization.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        return parts[1].trimmingCharacters(in: .whitespaces)
    }

    /// The token of a WebSocket handshake: a `bearer.<token>` subprotocol, else the
    /// `access_token` query parameter.
    static func fromHandshake(_ head: HTTPRequestHead) -> String? {
        for offered in offeredSubprotocols(head) where offered.hasPrefix(subprotocolPrefix) {
            return String(offered.dropFirst(subprotocolPrefix.count))
        }
        return fromQuery(head.uri)
    }

    /// The token of an event-stream request: `Authorization: Bearer`, else the `access_token`
    /// query parameter (a browser's `EventSource` cannot set headers).
    static func fromEventStreamRequest(_ head: HTTPRequestHead) -> String? {
        fromAuthorization(head.headers.first(name: "authorization")) ?? fromQuery(head.uri)
    }

    /// The `access_token` query parameter of `target`, decoded.
    private static func fromQuery(_ target: String) -> String? {
        QueryParameters.values(of: "access_token", in: target).first { !$0.isEmpty }.flatMap { String($0).removingPercentEncoding }
    }

    /// Every subprotocol a handshake offers, in order.
    static func offeredSubprotocols(_ head: HTTPRequestHead) -> [String] {
        head.headers["sec-websocket-protocol"].flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
    }
}
