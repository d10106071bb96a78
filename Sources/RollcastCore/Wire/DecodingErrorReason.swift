/// One readable line for a JSON decoding failure, naming the field at fault.
public enum DecodingErrorReason {
    public static func describe(_ error: any Error) -> String {
        if let error = error as? RequestError { return error.description }
        guard let error = error as? DecodingError else { return "\(error)" }
        switch error {
        case .typeMismatch(let type, let context):
            return "\(path(context)) must be \(name(of: type))"
        case .valueNotFound(let type, let context):
            return "\(path(context)) must be \(name(of: type)), not null"
        case .keyNotFound(let key, let context):
            if context.codingPath.isEmpty { return "missing field '\(key.stringValue)'" }
            return "missing field '\(key.stringValue)' in \(path(context))"
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty { return "body is not valid JSON" }
            return "\(path(context)) has an invalid value"
        @unknown default:
            return "body could not be decoded"
        }
    }

    private static func path(_ context: DecodingError.Context) -> String {
        let path = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
        return path.isEmpty ? "the body" : "'\(path.drop(while: { $0 == "." }))'"
    }

    private static func name(of type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type, is UInt64.Type: "a whole number"
        case is Double.Type: "a number"
        case is [String].Type, is [Any].Type: "a list"
        case is [String: Any].Type: "an object"
        default: "of type \(type)"
        }
    }
}
