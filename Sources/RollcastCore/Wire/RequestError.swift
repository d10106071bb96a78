/// Why a request was not carried out.
public enum RequestError: Error, Equatable, CustomStringConvertible {
    /// The request is wrong as given (HTTP 400): sending it again will not help.
    case invalid(String)
    /// The producer cannot carry it out now (HTTP 503): the same request may succeed later.
    case unavailable(String)

    public var description: String {
        switch self {
        case .invalid(let reason), .unavailable(let reason): reason
        }
    }

    public var isRetryable: Bool {
        if case .unavailable = self { return true }
        return false
    }
}
