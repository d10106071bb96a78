/// Which requests a browser may make of the gateway: the `Host` they name and the `Origin`
/// they come from.
///
/// `Host` must name the gateway (its listen address, `localhost` on loopback, or a
/// `--server-name`): a page that rebinds its own DNS name to a loopback gateway names its own
/// host and is refused (421). A request with an `Origin` (browsers send one with every
/// WebSocket and every cross-site write) must come from the gateway's own origin or an
/// `--allowed-origin`: a page on another site can neither open the WebSocket nor post (403).
/// Requests without `Origin`, or with one that is not a web page's (curl, scripts, feed
/// handlers, WebSocket libraries), are not a browser's and pass.
struct AccessPolicy: Sendable {
    /// Host names a request may name, lowercased and without port; `nil` accepts any
    /// (a wildcard listen address with no `--server-name`).
    let hostNames: Set<String>?
    /// Origins besides the gateway's own, as `scheme://host[:port]`, lowercased.
    let allowedOrigins: Set<String>

    init(listenHost: String, serverNames: [String], allowedOrigins: [String]) {
        var names = Set(serverNames.map { Self.hostName(of: $0) })
        let listen = Self.hostName(of: listenHost)
        switch listen {
        case "0.0.0.0", "::", "":
            hostNames = names.isEmpty ? nil : names
        default:
            names.insert(listen)
            if ["127.0.0.1", "::1", "localhost"].contains(listen) { names.formUnion(["127.0.0.1", "::1", "localhost"]) }
            hostNames = names
        }
        self.allowedOrigins = Set(allowedOrigins.map { Self.trimmedOrigin($0) })
    }

    /// Why a request with this `Host` is refused, or `nil`. An HTTP/1.0 request without one
    /// never gets here without one: ``UpgradeGateHandler`` names the default host for it.
    func hostRefusal(_ host: String?) -> Refusal? {
        guard let host, !host.isEmpty else {
            return Refusal(status: 400, reason: "an HTTP/1.1 request must name the gateway in Host")
        }
        guard let hostNames else { return nil }
        let name = Self.hostName(of: host)
        guard hostNames.contains(name) else {
            return Refusal(status: 421, reason: "this gateway does not answer for host '\(name.prefix(64))'; start it with --server-name to add one")
        }
        return nil
    }

    /// Why a request from `origin` to a gateway reached as `host` is refused, or `nil`.
    func originRefusal(_ origin: String?, host: String?) -> Refusal? {
        guard let origin else { return nil }
        if isAllowed(origin, host: host) { return nil }
        return Refusal(status: 403, reason: "requests from origin '\(origin.prefix(100))' are not allowed; start the gateway with --allowed-origin to allow one")
    }

    /// Whether `origin` is the gateway's own (as reached through `host`) or an allowed one.
    ///
    /// Only web pages are judged: browsers send `http`/`https` origins (or `null` from a
    /// sandboxed frame or a file). Other clients may send something else (a WebSocket library's
    /// `ws://host`), and one that wanted to pass could send any origin at all.
    func isAllowed(_ origin: String, host: String?) -> Bool {
        let origin = Self.trimmedOrigin(origin)
        if !origin.hasPrefix("http://"), !origin.hasPrefix("https://"), origin != "null" { return true }
        if let host, origin == "http://\(host.lowercased())" || origin == "https://\(host.lowercased())" { return true }
        return allowedOrigins.contains(origin)
    }

    /// Whether `origin` is one of the `--allowed-origin` values (another site the gateway answers with CORS headers).
    func isAllowedCrossOrigin(_ origin: String) -> Bool {
        allowedOrigins.contains(Self.trimmedOrigin(origin))
    }

    struct Refusal: Equatable, Sendable {
        let status: Int
        let reason: String
    }

    /// `example.com` from `example.com:8000`, `::1` from `[::1]:8000`, lowercased.
    static func hostName(of authority: String) -> String {
        let lowered = authority.lowercased()
        if lowered.hasPrefix("["), let close = lowered.firstIndex(of: "]") {
            return String(lowered[lowered.index(after: lowered.startIndex)..<close])
        }
        if lowered.filter({ $0 == ":" }).count > 1 { return lowered }  // a bare IPv6 address
        return String(lowered.split(separator: ":", maxSplits: 1).first ?? "")
    }

    private static func trimmedOrigin(_ origin: String) -> String {
        var origin = origin.lowercased()
        while origin.hasSuffix("/") { origin.removeLast() }
        return origin
    }
}
