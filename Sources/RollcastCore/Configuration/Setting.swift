import Foundation

/// One flag's setting, declared once: its environment variable, its default and its help.
///
/// The flag's `--help` text is made from it (``helpText``) and ``SettingResolver`` reads its
/// value from it, so the help cannot name another variable or default than the code uses;
/// `Tests/scripts/settings_docs_test.py` holds docs/operations.md to the help, and the sources
/// to one declaration per variable. A flag without a fixed default (one made from the run
/// directory, say) says how it is made in ``defaultDescription``.
public struct Setting<Value: LosslessStringConvertible & Sendable>: Sendable {
    public let env: String
    public let defaultValue: Value
    public let help: String

    public init(env: String, default defaultValue: Value, help: String) {
        self.env = env
        self.defaultValue = defaultValue
        self.help = help
    }

    /// `help (ENV; default VALUE)`, as every flag's help ends; a switch says how the variable turns it on or off.
    public var helpText: String {
        if let on = defaultValue as? Bool {
            return on ? "\(help) (\(env)=0 turns it off; default on)" : "\(help) (\(env)=1; default off)"
        }
        return "\(help) (\(env); default \(defaultText))"
    }

    /// The default as a user writes it: `2`, not `2.0`.
    public var defaultText: String {
        if let number = defaultValue as? Double, number.rounded() == number, abs(number) < 1e15 { return String(Int(number)) }
        return defaultValue.description
    }
}

/// A setting without a fixed default: unset means off or none, or a value made from other
/// settings, which ``defaultDescription`` names for the help.
public struct OptionalSetting: Sendable {
    public let env: String
    public let defaultDescription: String?
    public let help: String

    public init(env: String, default description: String? = nil, help: String) {
        self.env = env
        defaultDescription = description
        self.help = help
    }

    public var helpText: String { helpText(variable: env) }

    /// `help (VARIABLE; default …)`, the variable as `variable` describes it.
    func helpText(variable: String) -> String {
        defaultDescription.map { "\(help) (\(variable); default \($0))" } ?? "\(help) (\(variable))"
    }
}

/// A repeatable flag, whose variable holds a comma-separated list.
public struct ListSetting: Sendable {
    let setting: OptionalSetting

    public init(env: String, default description: String? = nil, help: String) {
        setting = OptionalSetting(env: env, default: description, help: help)
    }

    public var env: String { setting.env }
    public var helpText: String { setting.helpText(variable: "\(env), comma-separated") }
}

/// Resolves a setting as flag, then `ROLLCAST_…` environment variable, then default: the
/// precedence lives here alone.
public struct SettingResolver: Sendable {
    let environment: [String: String]

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.environment = environment
    }

    /// The flag, else the setting's environment variable, else its default.
    /// - Throws: ``SettingError`` when the environment variable is set but not a valid value.
    public func resolve<Value>(_ flag: Value?, _ setting: Setting<Value>) throws -> Value {
        if let flag { return flag }
        guard let raw = environment[setting.env], !raw.isEmpty else { return setting.defaultValue }
        if Value.self == Bool.self {
            switch raw.lowercased() {
            case "1", "true", "yes", "on": return true as! Value
            case "0", "false", "no", "off": return false as! Value
            default: throw SettingError(name: setting.env, value: raw)
            }
        }
        guard let value = Value(raw) else { throw SettingError(name: setting.env, value: raw) }
        return value
    }

    /// A switch given as a flag that is only ever set (`@Flag var loop = false`).
    public func resolve(_ flag: Bool, _ setting: Setting<Bool>) throws -> Bool {
        try resolve(flag ? true : nil, setting)
    }

    /// The flag, else the environment variable, else `nil` (the caller makes the default).
    public func resolve(_ flag: String?, _ setting: OptionalSetting) -> String? {
        if let flag { return flag }
        if let raw = environment[setting.env], !raw.isEmpty { return raw }
        return nil
    }

    /// The flags given, else the variable's comma-separated entries; empty when neither is set.
    public func resolve(_ flags: [String], _ setting: ListSetting) -> [String] {
        guard flags.isEmpty else { return flags }
        return (environment[setting.env] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}

public struct SettingError: Error, CustomStringConvertible {
    public let name: String
    public let value: String
    public var description: String { "environment variable \(name) has an invalid value '\(value)'" }
}
