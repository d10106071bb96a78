import Foundation
import NIOWebSocket

/// A delta-stream client's change of what it watches: `{"subscribe":[…]}`,
/// `{"unsubscribe":[…]}`, or both in one message (the unsubscribe applied first). Entries are
/// those of `?symbols=`; an unsubscribe removes entries as they were given (`FX:*` removes the
/// prefix `FX:*`, not the symbols it takes). A client that connected without `symbols` holds `*`.
struct SelectionChange: Equatable {
    let subscribe: [String]
    let unsubscribe: [String]

    /// Why a message is refused: the close code and its reason.
    struct Refusal: Error, Equatable {
        let code: WebSocketErrorCode
        let reason: String
    }

    /// The change a text message asks for.
    static func parse(_ text: String) throws(Refusal) -> SelectionChange {
        let shape = Refusal(code: .dataInconsistentWithMessage, reason: #"a message is {"subscribe":[…]} or {"unsubscribe":[…]}, lists of symbols and prefixes"#)
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], !object.isEmpty,
            object.keys.allSatisfy({ $0 == "subscribe" || $0 == "unsubscribe" })
        else { throw shape }
        func list(_ key: String) throws(Refusal) -> [String] {
            guard let value = object[key] else { return [] }
            guard let entries = value as? [String] else { throw shape }
            if let listed = entries.first(where: { $0.contains(",") }) {
                throw Refusal(code: .policyViolation, reason: "\(key) entry '\(listed.prefix(40))' holds a comma: give each symbol or prefix as an entry of its own")
            }
            return entries
        }
        return SelectionChange(subscribe: try list("subscribe"), unsubscribe: try list("unsubscribe"))
    }

    /// `selection` (`nil`: every symbol) with this change made.
    func applied(to selection: SymbolSelection?) throws(Refusal) -> SymbolSelection {
        let held = selection ?? SymbolSelection(exact: [], prefixes: [""])
        var exact = held.exact
        var prefixes = Set(held.prefixes)
        do {
            if !unsubscribe.isEmpty {
                let removed = try SymbolSelection.parse(unsubscribe.joined(separator: ","))
                exact.subtract(removed.exact)
                prefixes.subtract(removed.prefixes)
            }
            if !subscribe.isEmpty {
                let added = try SymbolSelection.parse(subscribe.joined(separator: ","))
                exact.formUnion(added.exact)
                prefixes.formUnion(added.prefixes)
            }
        } catch {
            throw Refusal(code: .policyViolation, reason: error.description)
        }
        guard exact.count + prefixes.count <= SymbolSelection.maxEntries else {
            throw Refusal(code: .policyViolation, reason: "a selection holds at most \(SymbolSelection.maxEntries) entries, not \(exact.count + prefixes.count)")
        }
        return SymbolSelection(exact: exact, prefixes: prefixes)
    }
}
