import ArgumentParser
import RollcastCore

// A flag's help is its setting's: `@Option(help: .init(GatewaySettings.port)) var port: Int?`.
extension ArgumentHelp {
    public init<Value>(_ setting: Setting<Value>) { self.init(setting.helpText) }
    public init(_ setting: OptionalSetting) { self.init(setting.helpText) }
    public init(_ setting: ListSetting) { self.init(setting.helpText) }
}
