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

/// One setting with a default: its environment variable and its default value, declared once.
/// The flag's help text is made from it and ``SettingResolver/resolve(_:_:)`` reads it, so the
/// help cannot name another default than the code uses (and `Tests/scripts/settings_docs_test.py`
/// holds docs/operations.md to the help).
public struct Setting<Value: LosslessStringConvertible & Sendable>: Sendable {
    public let env: String
    public let defaultValue: Value

    public init(env: String, default defaultValue: Value) {
        self.env = env
        self.defaultValue = defaultValue
    }

    /// `text (ENV; default VALUE)`, as every flag's help ends.
    public func help(_ text: String) -> String {
        "\(text) (\(env); default \(defaultText))"
    }

    /// The default as a user writes it: `2`, not `2.0`.
    public var defaultText: String {
        if let number = defaultValue as? Double, number.rounded() == number, abs(number) < 1e15 { return String(Int(number)) }
        return defaultValue.description
    }
}

extension SettingResolver {
    /// The flag, else the setting's environment variable, else its default.
    public func resolve<Value>(_ flag: Value?, _ setting: Setting<Value>) throws -> Value {
        try resolve(flag, env: setting.env, default: setting.defaultValue)
    }
}
