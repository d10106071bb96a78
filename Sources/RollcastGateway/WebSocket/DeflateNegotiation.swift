import Foundation

/// The `permessage-deflate` answer for a client's `Sec-WebSocket-Extensions` offer.
enum DeflateNegotiation {
    /// What the gateway answers when it accepts: no context takeover either way, so every
    /// message stands alone and one compressed frame fits every client.
    static let response = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"

    /// Whether some offer in `header` can be accepted with ``response``: any
    /// `permessage-deflate` offer that does not ask for a server window under 15 bits.
    static func accepts(_ header: String?) -> Bool {
        guard let header else { return false }
        for offer in header.split(separator: ",") {
            let parts = offer.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            guard parts.first == "permessage-deflate" else { continue }
            let narrowWindow = parts.dropFirst().contains { part in
                part.hasPrefix("server_max_window_bits") && !part.hasSuffix("=15") && part != "server_max_window_bits"
            }
            if !narrowWindow { return true }
        }
        return false
    }
}

