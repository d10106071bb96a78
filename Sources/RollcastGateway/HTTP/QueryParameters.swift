/// The values a request target's query gives a parameter, as sent (still percent-encoded), in order.
enum QueryParameters {
    static func values(of name: String, in target: String) -> [Substring] {
        guard let query = target.split(separator: "?", maxSplits: 1).dropFirst().first else { return [] }
        return query.split(separator: "&").compactMap { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts[0] == name else { return nil }
            return parts.count > 1 ? parts[1] : ""
        }
    }
}
