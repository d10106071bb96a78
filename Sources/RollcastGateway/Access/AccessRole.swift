/// What a token lets its holder do.
///
/// `read` sees the data; `write` also changes it. A feed handler's token is `write`; a desk's
/// dashboard gets `read`. Each route says which it needs (``Route/role``, ``GatewayRoutes``).
public enum AccessRole: String, Sendable, CaseIterable, Comparable {
    case read
    case write

    /// Whether a token of this role may do what `needed` allows.
    func grants(_ needed: AccessRole) -> Bool { self >= needed }

    public static func < (lhs: AccessRole, rhs: AccessRole) -> Bool {
        lhs == .read && rhs == .write
    }
}
