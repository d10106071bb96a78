import Foundation

/// What the gateway's `--host` says about who can reach it.
public enum ListenAddress {
    /// Whether only this machine can connect: `localhost`, `127.0.0.0/8` or `::1`. A wildcard
    /// (`0.0.0.0`, `::`), a name or any other address may be reachable from elsewhere.
    public static func isLoopback(_ host: String) -> Bool {
        var name = host.lowercased()
        if name.hasPrefix("["), name.hasSuffix("]") { name = String(name.dropFirst().dropLast()) }
        if name == "localhost" { return true }
        var v4 = in_addr()
        if inet_pton(AF_INET, name, &v4) == 1 { return UInt32(bigEndian: v4.s_addr) >> 24 == 127 }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, name, &v6) == 1 { return name == "::1" || withUnsafeBytes(of: v6) { Array($0) } == Array(repeating: 0, count: 15) + [1] }
        return false
    }
}

extension ListenAddress {
    /// The host of a `tcp://host:port` endpoint, or `nil` for other transports.
    public static func tcpHost(of endpoint: String) -> String? {
        guard endpoint.hasPrefix("tcp://") else { return nil }
        let authority = endpoint.dropFirst("tcp://".count)
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            return String(authority[authority.index(after: authority.startIndex)..<close])
        }
        return authority.split(separator: ":", maxSplits: 1).first.map(String.init)
    }
}
