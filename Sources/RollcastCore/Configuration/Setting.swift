import Foundation

/// Resolves a setting as flag, then `ROLLCAST_…` environment variable, then default.
///
/// Both executables call this for every option, so the precedence lives in one place.
public struct SettingResolver: Sendable {
    let environment: [String: String]

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.environment = environment
    }

    /// - Throws: ``SettingError`` when the environment variable is set but not a valid value.
    public func resolve<Value: LosslessStringConvertible>(_ flag: Value?, env name: String, default fallback: @autoclosure () -> Value) throws -> Value {
        if let flag { return flag }
        if let raw = environment[name], !raw.isEmpty {
            guard let value = Value(raw) else { throw SettingError(name: name, value: raw) }
            return value
        }
        return fallback()
    }

    /// For settings without a default: the flag, else the environment variable, else `nil`.
    public func resolve(_ flag: String?, env name: String, default fallback: String?) -> String? {
        if let flag { return flag }
        if let raw = environment[name], !raw.isEmpty { return raw }
        return fallback
    }

    /// A comma-separated list from the environment variable `name`; empty when unset.
    public func list(env name: String) -> [String] {
        (environment[name] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// Like the generic form, but also takes 1/0, yes/no and on/off from the environment.
    public func resolve(_ flag: Bool?, env name: String, default fallback: Bool) throws -> Bool {
        if let flag { return flag }
        guard let raw = environment[name]?.lowercased(), !raw.isEmpty else { return fallback }
        switch raw {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default: throw SettingError(name: name, value: raw)
        }
    }
}

public struct SettingError: Error, CustomStringConvertible {
    public let name: String
    public let value: String
    public var description: String { "environment variable \(name) has an invalid value '\(value)'" }
}
