import RollcastCore

/// The producer's own settings, each declared once: its flag's help, its variable and its
/// default come from here (the shared ones are ``SharedSettings``).
public enum ProducerSettings {
    public static let snapshotEndpoint = OptionalSetting(
        env: "ROLLCAST_SNAPSHOT_ENDPOINT", default: "ipc://<run dir>/snapshots.sock", help: "ZeroMQ endpoint to publish snapshots on, ipc:// or tcp://."
    )
    public static let controlEndpoint = OptionalSetting(
        env: "ROLLCAST_CONTROL_ENDPOINT", default: "ipc://<run dir>/control.sock", help: "ZeroMQ endpoint for control commands."
    )
    public static let ingestEndpoint = OptionalSetting(
        env: "ROLLCAST_INGEST_ENDPOINT", default: "ipc://<run dir>/ingest.sock",
        help: "ZeroMQ endpoint where feed handlers push batches (PULL), ipc:// or tcp://."
    )
    public static let interval = Setting(env: "ROLLCAST_INTERVAL", default: 2.0, help: "Seconds between snapshots, at least 0.1.")
    public static let window = Setting(
        env: "ROLLCAST_WINDOW", default: "300",
        help: "Rolling window length: seconds, or a number with a unit s, m, h, d, w or y (365.25 days), up to 100y."
    )
    public static let mockFeed = Setting(env: "ROLLCAST_MOCK_FEED", default: true, help: "Tick the default mock symbols from the start.")
    public static let mockSymbols = Setting(
        env: "ROLLCAST_MOCK_SYMBOLS", default: "AAPL,MSFT,NVDA,EURUSD,BTCUSD", help: "Comma-separated symbols of the default mock feed."
    )
    public static let mockRate = Setting(env: "ROLLCAST_MOCK_RATE", default: 2.0, help: "Ticks per second for each mock symbol, 0.1 to 1000.")
    public static let maxSymbols = Setting(env: "ROLLCAST_MAX_SYMBOLS", default: 1_000, help: "Most symbols kept; loads past it are refused.")
    public static let maxPoints = Setting(
        env: "ROLLCAST_MAX_POINTS", default: 1_000,
        help: "Most points per chart in a snapshot, reduced keeping each bucket's min and max; 0 sends every point."
    )
    public static let maxSnapshotPoints = Setting(
        env: "ROLLCAST_MAX_SNAPSHOT_POINTS", default: 250_000,
        help: "Most points in a whole snapshot; with many symbols each chart gets its share (at least 5). 0 is no limit."
    )
    public static let maxFutureSkew = Setting(
        env: "ROLLCAST_MAX_FUTURE_SKEW", default: 5.0, help: "Seconds a tick's t may lie ahead of the producer's clock; later ticks are refused."
    )
    public static let maxTicksPerWindow = Setting(
        env: "ROLLCAST_MAX_TICKS_PER_WINDOW", default: 100_000, help: "Most ticks a window holds; past it the oldest go first."
    )
    public static let forgetEmptyAfter = Setting(
        env: "ROLLCAST_FORGET_EMPTY_AFTER", default: 60.0,
        help: "Seconds a window may stay empty before its symbol is forgotten and its slot freed; mock symbols never are."
    )
    public static let dataDir = OptionalSetting(
        env: "ROLLCAST_DATA_DIR",
        help: "Folder for the journal of acknowledged ticks (SQLite); windows survive a restart. Unset keeps everything in memory."
    )
    public static let replay = ListSetting(
        env: "ROLLCAST_REPLAY",
        help: "Replay this CSV file (plain or .gz), or every .csv and .gz file of this folder, instead of the mock feed; repeatable, rows merged in time order; the windows follow the files' clock."
    )
    public static let speed = Setting(
        env: "ROLLCAST_REPLAY_SPEED", default: "1", help: "With --replay: N times the file's pace, or max for as fast as possible."
    )
    public static let loop = Setting(env: "ROLLCAST_REPLAY_LOOP", default: false, help: "With --replay: start the file again when it ends.")
    public static let skipBad = Setting(
        env: "ROLLCAST_REPLAY_SKIP_BAD", default: false,
        help: "With --replay: leave bad rows out (counted and logged) instead of stopping at the first."
    )
    public static let timeFormat = OptionalSetting(
        env: "ROLLCAST_REPLAY_TIME_FORMAT",
        help: "With --replay: read every time with this strftime-style pattern (%Y-%m-%d %H:%M, %d/%m/%Y, %s …) instead of choosing the format from the column."
    )
    public static let timeZone = Setting(
        env: "ROLLCAST_REPLAY_TIME_ZONE", default: "UTC",
        help: "With --replay: the IANA time zone (Europe/London, America/New_York) of times that do not name one."
    )
    public static let timeUnit = Setting(env: "ROLLCAST_REPLAY_TIME_UNIT", default: "s", help: "With --replay: the unit of numeric times: s, ms, us or ns.")
    public static let columns = OptionalSetting(
        env: "ROLLCAST_REPLAY_COLUMNS",
        help: "With --replay: the value columns, comma-separated, each a series named after its column, or <symbol>:<column> in a file with a symbol column. Without it: price, or every numeric column of a file that has none."
    )
    public static let symbol = OptionalSetting(
        env: "ROLLCAST_REPLAY_SYMBOL", help: "With --replay: the series name of a file without a symbol column, instead of the file's name."
    )
    public static let broker = ListSetting(
        env: "ROLLCAST_BROKER",
        help: "Publish into a broker at this endpoint (its producer side) instead of binding --snapshot-endpoint; repeatable: every snapshot goes to every broker, so one can stop without a gap."
    )
    public static let name = OptionalSetting(
        env: "ROLLCAST_NAME", default: "the host name", help: "This producer's name in its snapshots: a broker keeps one last snapshot per name."
    )
    public static let advertiseControl = OptionalSetting(
        env: "ROLLCAST_ADVERTISE_CONTROL", default: "--control-endpoint, a wildcard host replaced by the host name",
        help: "The control endpoint gateways are told to send this producer's writes to, when --control-endpoint is not what they reach (a wildcard address, NAT)."
    )
    public static let curveBrokerKey = OptionalSetting(
        env: "ROLLCAST_CURVE_BROKER_KEY",
        help: "File holding the broker's CURVE public key, for a tcp:// --broker; this producer's own key is --curve-secret-key."
    )
}
