import Logging
import NIOHTTP1
import RollcastCore

/// Who may open the realtime charts socket, and what an admitted upgrade gets.
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
    let metrics: GatewayMetrics
    let maxClients: Int
    let permessageDeflate: Bool
    let subscriptions: SubscriptionSets
    private let refusals: RefusalLog
    private let fullRefusals: RefusalLog

    init(
        route: Route, access: AccessPolicy, authority: TokenAuthority?, socket: RealtimeChartsSocket, metrics: GatewayMetrics, maxClients: Int,
        permessageDeflate: Bool, subscriptions: SubscriptionSets, logger: Logger
    ) {
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
        if let refusal = selectionRefusal(head) {
            metrics.countRefusedUpgrade(status: Int(refusal.status.code))
            refusals.note(refusal.reason, metadata: ["status": "\(refusal.status.code)"])
            return refusal
        }
        let host = head.headers.first(name: "host")
        if let refusal = access.hostRefusal(host) ?? access.originRefusal(head.headers.first(name: "origin"), host: host) {
            metrics.countRefusedUpgrade(status: refusal.status)
            refusals.note(refusal.reason, metadata: ["status": "\(refusal.status)"])
            return .init(status: HTTPResponseStatus(statusCode: refusal.status), reason: refusal.reason)
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

    /// A `?symbols=` list that cannot be read (400, naming the entry), or a new selection past
    /// `--max-subscription-sets` (503).
    private func selectionRefusal(_ head: HTTPRequestHead) -> UpgradeGateHandler.Refusal? {
        let chosen: SymbolSelection?
        do {
            chosen = try SymbolSelection.fromQuery(of: head.uri)
        } catch {
            return .init(status: .badRequest, reason: error.description)
        }
        // The token is checked after this; what it would allow counts toward the bound now.
        if let selection = ChartFilter.of(chosen: chosen, allowed: allowedSymbols(head)), !subscriptions.admits(selection) {
            return .init(
                status: .serviceUnavailable,
                reason: "the gateway holds its maximum of \(subscriptions.limit) distinct symbol selections; choose one another client holds, or try again later",
                headers: [("Retry-After", "5")]
            )
        }
        return nil
    }

    /// The symbols the handshake's token allows, where tokens are on and it has a `symbols` claim.
    private func allowedSymbols(_ head: HTTPRequestHead) -> SymbolSelection? {
        authority == nil ? nil : TokenAuthority.symbols(ofAdmitted: BearerToken.fromHandshake(head))
    }

    /// The token check, or `nil` where no token is needed: a token of the route's role, or 401/403 with a reason.
    var authorization: (@Sendable (HTTPRequestHead) async -> UpgradeGateHandler.Refusal?)? {
        guard let authority, let role = route.role else { return nil }
        return { head in
            guard let refusal = await authority.refusal(of: BearerToken.fromHandshake(head), needing: role) else { return nil }
            metrics.countRefusedUpgrade(status: refusal.status)
            refusals.note(refusal.reason, metadata: ["status": "\(refusal.status)"])
            var headers: [(String, String)] = []
            if let challenge = refusal.challenge { headers.append(("WWW-Authenticate", challenge)) }
            return UpgradeGateHandler.Refusal(status: HTTPResponseStatus(statusCode: refusal.status), reason: refusal.reason, headers: headers)
        }
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
        let selection = ChartFilter.of(chosen: try? SymbolSelection.fromQuery(of: head.uri), allowed: allowedSymbols(head))
        let socket = socket
        return .init(headers: headers) { channel in
            try socket.install(on: channel, deflate: deflate, deltaStream: deltaStream, selection: selection, tokenExpiry: tokenExpiry)
        }
    }
}
