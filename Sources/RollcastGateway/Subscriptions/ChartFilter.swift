/// Which charts one client gets: those it chose (`?symbols=`, or a change on the delta stream)
/// that its token allows (a `symbols` claim). Either may be absent; a client with neither gets
/// the snapshot's own messages. A choice outside what the token allows is the intersection,
/// never an error that would tell which symbols exist.
struct ChartFilter: Hashable, Sendable, CustomStringConvertible {
    let chosen: SymbolSelection?
    let allowed: SymbolSelection?
    /// Both selections in their canonical text (an absent one empty; a present one never is):
    /// what equality and hashing compare. A filter is
    /// looked up per client per snapshot, and hashing one string is far cheaper than hashing
    /// two sets of strings (and comparing them element by element).
    private let key: String

    init(chosen: SymbolSelection?, allowed: SymbolSelection?) {
        self.chosen = chosen
        self.allowed = allowed
        key = "\(chosen?.description ?? "")|\(allowed?.description ?? "")"
    }

    static func == (left: ChartFilter, right: ChartFilter) -> Bool { left.key == right.key }

    func hash(into hasher: inout Hasher) { hasher.combine(key) }

    /// The filter of `chosen` and `allowed`; `nil` when both are absent (every chart).
    static func of(chosen: SymbolSelection?, allowed: SymbolSelection?) -> ChartFilter? {
        chosen == nil && allowed == nil ? nil : ChartFilter(chosen: chosen, allowed: allowed)
    }

    func matches(_ symbol: String) -> Bool {
        (chosen?.matches(symbol) ?? true) && (allowed?.matches(symbol) ?? true)
    }

    var description: String {
        [chosen.map { "\($0)" }, allowed.map { "allowed \($0)" }].compactMap { $0 }.joined(separator: " ")
    }
}
