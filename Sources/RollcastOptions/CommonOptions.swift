import ArgumentParser
import Logging
import RollcastCore

/// `--run-dir` and `--log-level`, which every process has.
public struct CommonOptions: ParsableArguments {
    @Option(help: .init(SharedSettings.runDir))
    var runDir: String?

    @Option(help: .init(SharedSettings.logLevel))
    var logLevel: String?

    public init() {}

    /// The run directory: the flag, the variable, else `$XDG_RUNTIME_DIR/rollcast` or `/tmp/rollcast-<uid>`.
    public func runDirectory(_ settings: SettingResolver) -> RunDirectory {
        RunDirectory(path: settings.resolve(runDir, SharedSettings.runDir) ?? RunDirectory.defaultPath())
    }

    /// The process's logger at the chosen level.
    public func logger(label: String, _ settings: SettingResolver) throws -> Logger {
        try LoggerSetup.make(label: label, level: settings.resolve(logLevel, SharedSettings.logLevel))
    }
}
