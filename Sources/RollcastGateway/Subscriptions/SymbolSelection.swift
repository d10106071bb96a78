import Foundation
import RollcastCore

/// The symbols a client chose (`?symbols=AAPL,MSFT,FX:*`): exact symbols, and prefixes that
/// end in `*`, which also take symbols that appear later. Two clients that chose the same
/// entries, in any order, have equal selections and share one composed message.
struct SymbolSelection: Hashable, Sendable, CustomStringConvertible {
    /// Most entries in one list.
    static let maxEntries = 256

    let exact: Set<String>
    /// Without their `*`, in order; `""` takes every symbol.
    let prefixes: [String]

    init(exact: Set<String>, prefixes: Set<String>) {
        self.exact = exact
        self.prefixes = prefixes.sorted()
    }

    func matches(_ symbol: String) -> Bool {
        exact.contains(symbol) || prefixes.contains { symbol.hasPrefix($0) }
    }

    var description: String { (exact.sorted() + prefixes.map { $0 + "*" }).joined(separator: ",") }

    /// Why a list is refused: one line naming the entry.
    struct Refusal: Error, Equatable, CustomStringConvertible {
        let description: String
    }

    /// The selection a comma-separated list names.
    static func parse(_ list: String) throws(Refusal) -> SymbolSelection {
        let entries = list.split(separator: ",", omittingEmptySubsequences: false)
        guard entries.count <= maxEntries else {
            throw Refusal(description: "symbols may name at most \(maxEntries) entries, not \(entries.count)")
        }
        var exact = Set<String>()
        var prefixes = Set<String>()
        for (position, entry) in entries.enumerated() {
            let shown = "symbols entry \(position + 1) ('\(entry.prefix(40))')"
            let isPrefix = entry.hasSuffix("*")
            let name = isPrefix ? entry.dropLast() : entry[...]
            if isPrefix {
                guard !name.contains("*") else { throw Refusal(description: "\(shown): * may only end an entry") }
                if name.isEmpty {
                    prefixes.insert("")
                    continue
                }
            }
            let checked: String
            do {
                // A prefix follows the symbol rules, as the symbols it takes do.
                checked = try Symbol.validated(String(name))
                guard checked.utf8.count == name.utf8.count else {
                    throw RequestError.invalid("a \(isPrefix ? "prefix" : "symbol") must not begin or end with a space")
                }
            } catch {
                throw Refusal(description: "\(shown): \(error)")
            }
            if isPrefix { prefixes.insert(checked) } else { exact.insert(checked) }
        }
        return SymbolSelection(exact: exact, prefixes: prefixes)
    }

    /// The selection in a request target's query (`/ws/realtime_charts?symbols=…`): `nil`
    /// without `symbols`, which is every symbol, as the stream has always been.
    static func fromQuery(of target: String) throws(Refusal) -> SymbolSelection? {
        var lists: [String] = []
        for raw in QueryParameters.values(of: "symbols", in: target) {
            guard let decoded = raw.replacingOccurrences(of: "+", with: " ").removingPercentEncoding else {
                throw Refusal(description: "symbols is not valid percent-encoding")
            }
            lists.append(decoded)
        }
        guard !lists.isEmpty else { return nil }
        guard lists.count == 1 else { throw Refusal(description: "give symbols once, as one comma-separated list") }
        guard !lists[0].isEmpty else { throw Refusal(description: "symbols must name at least one symbol or prefix") }
        return try parse(lists[0])
    }
}
