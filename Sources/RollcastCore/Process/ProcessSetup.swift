import Foundation
import Logging

/// Start-up steps both executables take before anything else.
public enum ProcessSignals {
    /// Clears the inherited signal mask.
    ///
    /// A parent that launches us from a thread with SIGTERM/SIGINT blocked (Foundation's
    /// `Process` from an async test does) would otherwise leave us deaf to both.
    public static func unblockAll() {
        var empty = sigset_t()
        sigemptyset(&empty)
        sigprocmask(SIG_SETMASK, &empty, nil)
    }

    /// Makes a write past the file-size limit (`ulimit -f`, `LimitFSIZE=`) fail with `EFBIG`,
    /// which the journal reports like a full disk (503, then a clean stop for the supervisor),
    /// instead of killing the process outright (`SIGXFSZ`'s default).
    public static func ignoreFileSizeLimitSignal() {
        signal(SIGXFSZ, SIG_IGN)
    }
}

public enum LoggerSetup {
    /// Sends one line per event to standard error at `level`, and returns the process's logger.
    /// - Throws: ``SettingError`` for an unknown level name.
    public static func make(label: String, level: String) throws -> Logger {
        guard let level = Logger.Level(rawValue: level.lowercased()) else {
            throw SettingError(name: "log level", value: level)
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        var logger = Logger(label: label)
        logger.logLevel = level
        return logger
    }
}
