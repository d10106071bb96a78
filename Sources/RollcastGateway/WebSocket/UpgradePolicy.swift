import Logging
import NIOCore
import NIOHTTP1
import RollcastCore

/// Who may open the realtime charts socket or event stream, and what an admitted one gets.
///
/// The gate (``UpgradeGateHandler``) asks, in order: ``refusal(of:)`` (the name in `Host`, the
/// page's `Origin`, room for one more client), then ``authorization(of:)`` (the token, where
/// tokens are on). ``upgrade(_:)`` then chooses the extensions and subprotocol of the `101`.
/// Refused upgrades are counted in the metrics, and logged at most once a second (with how
/// many were left out), so a flood of bad handshakes cannot flood the log.
struct UpgradePolicy: Sendable {
    let route: Route
    let access: AccessPolicy
    let authority: TokenAuthority?
    let socket: RealtimeChartsSocket
    let eventStream: EventStreamSocket
    let metrics: GatewayMetrics
    let maxClients: Int
    let permessageDeflate: Bool
    let subscriptions: SubscriptionSets
    private let refusals: RefusalLog
    private let fullRefusals: RefusalLog

    init(
        route: Route, access: AccessPolicy, authority: TokenAuthority?, socket: RealtimeChartsSocket, eventStream: EventStreamSocket,
        metrics: GatewayMetrics, maxClients: Int, permessageDeflate: Bool, subscriptions: SubscriptionSets, logger: Logger
    ) {
        self.eventStream = eventStream
        self.subscriptions = subscriptions
        self.route = route
        self.access = access
        self.authority = authority
        self.socket = socket
        self.metrics = metrics
        self.maxClients = maxClients
        self.permessageDeflate = permessageDeflate
        refusals = RefusalLog(logger: logger, message: "upgrade refused")
        fullRefusals = RefusalLog(logger: logger, message: "client refused")
    }

    /// Why an upgrade is refused before its token is looked at, or `nil`.
    func refusal(of head: HTTPRequestHead) -> UpgradeGateHandler.Refusal? {
        let chosen: SymbolSelection?
        do {
            chosen = try SymbolSelection.fromQuery(of: head.uri)
        } catch {
            return counted(.init(status: .badRequest, reason: error.description))
        }
        return refusal(of: head, choosing: chosen, token: BearerToken.fromHandshake(head))
    }

    /// Why an event stream is refused before its token is looked at, or `nil`.
    func eventStreamRefusal(of head: HTTPRequestHead) -> UpgradeGateHandler.Refusal? {
        let request: EventStreamRequest
        do {
            request = try EventStreamRequest.parse(head)
        } catch {
            return counted(.init(status: .badRequest, reason: error.description))
        }
        return refusal(of: head, choosing: request.chosen, token: BearerToken.fromEventStreamRequest(head))
    }

    /// A new selection past `--max-subscription-sets` (503), a `Host` or `Origin` the gateway
    /// does not answer (421, 403), or no room for one more client (503).
    private func refusal(of head: HTTPRequestHead, choosing chosen: SymbolSelection?, token: String?) -> UpgradeGateHandler.Refusal? {
        // The token is checked after this; what it would allow counts toward the bound now.
        if let selection = ChartFilter.of(chosen: chosen, allowed: allowedSymbols(token)), !subscriptions.admits(selection) {
            return counted(
                .init(
                    status: .serviceUnavailable,
                    reason: "the gateway holds its maximum of \(subscriptions.limit) distinct symbol selections; choose one another client holds, or try again later",
                    headers: [("Retry-After", "5")]
                )
            )
        }
        let host = head.headers.first(name: "host")
        if let refusal = access.hostRefusal(host) ?? access.originRefusal(head.headers.first(name: "origin"), host: host) {
            return counted(.init(status: HTTPResponseStatus(statusCode: refusal.status), reason: refusal.reason))
        }
        guard metrics.connected.value < maxClients else {
            metrics.refused.increment()
            metrics.countRefusedUpgrade(status: 503)
            fullRefusals.note("the gateway has its maximum of clients", metadata: ["max_clients": "\(maxClients)"])
            return .init(
                status: .serviceUnavailable, reason: "the gateway has its maximum of \(maxClients) clients; try again later",
                headers: [("Retry-After", "5")]
            )
        }
        return nil
    }

    /// `refusal`, counted in the metrics and noted in the log.
    private func counted(_ refusal: UpgradeGateHandler.Refusal) -> UpgradeGateHandler.Refusal {
        metrics.countRefusedUpgrade(status: Int(refusal.status.code))
        refusals.note(refusal.reason, metadata: ["status": "\(refusal.status.code)"])
        return refusal
    }

    /// The symbols `token` allows, where tokens are on and it has a `symbols` claim.
    private func allowedSymbols(_ token: String?) -> SymbolSelection? {
        authority == nil ? nil : TokenAuthority.symbols(ofAdmitted: token)
    }

    /// The token check of an upgrade, or `nil` where no token is needed.
    var authorization: (@Sendable (HTTPRequestHead) async -> UpgradeGateHandler.Refusal?)? {
        authorization(of: BearerToken.fromHandshake)
    }

    /// The token check of an event stream, or `nil` where no token is needed.
    var eventStreamAuthorization: (@Sendable (HTTPRequestHead) async -> UpgradeGateHandler.Refusal?)? {
        authorization(of: BearerToken.fromEventStreamRequest)
    }

    /// A token of the route's role, or 401/403 with a reason.
    private func authorization(
        of token: @escaping @Sendable (HTTPRequestHead) -> String?
    ) -> (@Sendable (HTTPRequestHead) async -> UpgradeGateHandler.Refusal?)? {
        guard let authority, let role = route.role else { return nil }
        let (metrics, refusals) = (metrics, refusals)
        return { head in
            guard let refusal = await authority.refusal(of: token(head), needing: role) else { return nil }
            metrics.countRefusedUpgrade(status: refusal.status)
            refusals.note(refusal.reason, metadata: ["status": "\(refusal.status)"])
            var headers: [(String, String)] = []
            if let challenge = refusal.challenge { headers.append(("WWW-Authenticate", challenge)) }
            return UpgradeGateHandler.Refusal(status: HTTPResponseStatus(statusCode: refusal.status), reason: refusal.reason, headers: headers)
        }
    }

    /// Starts an admitted event stream on `channel` (``EventStreamSocket``); a bound raced past is 503.
    func startEventStream(_ head: HTTPRequestHead, on channel: any Channel) -> UpgradeGateHandler.Refusal? {
        // Read by the gate already: a request that cannot be read never gets here.
        guard let request = try? EventStreamRequest.parse(head) else { return .init(status: .badRequest, reason: "the request cannot be read") }
        let token = BearerToken.fromEventStreamRequest(head)
        // The gate before this admitted the token on this same head.
        let tokenExpiry = authority == nil ? nil : TokenAuthority.expiry(ofAdmitted: token)
        let refusal = eventStream.start(request, version: head.version, allowed: allowedSymbols(token), tokenExpiry: tokenExpiry, on: channel)
        return refusal.map { .init(status: .serviceUnavailable, reason: $0.reason, headers: [("Retry-After", "5")]) }
    }

    /// The `101` for an admitted request to the route's path; `nil` for any other path.
    func upgrade(_ head: HTTPRequestHead) -> WebSocketUpgradeChannel.Upgrade? {
        guard head.uri.split(separator: "?").first.map(String.init) == route.path else { return nil }
        let offeredExtensions = head.headers["sec-websocket-extensions"]
        let deflate = permessageDeflate && DeflateNegotiation.accepts(offeredExtensions.isEmpty ? nil : offeredExtensions.joined(separator: ", "))
        var headers = HTTPHeaders()
        if deflate { headers.add(name: "Sec-WebSocket-Extensions", value: DeflateNegotiation.response) }
        // A browser that offers subprotocols (one carrying its token) fails the connection
        // unless the answer names one of them; never the token's.
        let chosen = RealtimeChartsSocket.chooseSubprotocol(offered: head.headers["sec-websocket-protocol"])
        if let chosen { headers.add(name: "Sec-WebSocket-Protocol", value: chosen) }
        let deltaStream = chosen == RealtimeChartsSocket.deltaSubprotocol
        // The gate before this admitted the token on this same head.
        let tokenExpiry = authority == nil ? nil : TokenAuthority.expiry(ofAdmitted: BearerToken.fromHandshake(head))
        // Read by the gate already: a list that cannot be read never gets here.
        let selection = ChartFilter.of(chosen: try? SymbolSelection.fromQuery(of: head.uri), allowed: allowedSymbols(BearerToken.fromHandshake(head)))
        let socket = socket
        return .init(headers: headers) { channel in
            try socket.install(on: channel, deflate: deflate, deltaStream: deltaStream, selection: selection, tokenExpiry: tokenExpiry)
        }
    }
}
