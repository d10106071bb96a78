/// The settings every process has: where its sockets live, how much it logs, and (for the
/// producer and the broker, which bind sockets other machines may reach) CURVE.
public enum SharedSettings {
    public static let runDir = OptionalSetting(
        env: "ROLLCAST_RUN_DIR", default: "$XDG_RUNTIME_DIR/rollcast or /tmp/rollcast-<uid>",
        help: "Folder for the Unix sockets, created private if missing."
    )
    public static let logLevel = Setting(
        env: "ROLLCAST_LOG_LEVEL", default: "info", help: "Log level: trace, debug, info, notice, warning, error, critical."
    )
    public static let curveSecretKey = OptionalSetting(
        env: "ROLLCAST_CURVE_SECRET_KEY",
        help: "File holding this process's CURVE secret key (rollcast-keygen), readable by its owner only: tcp:// endpoints then encrypt and admit only --curve-allow keys."
    )
    public static let curveAllow = ListSetting(
        env: "ROLLCAST_CURVE_ALLOW", help: "File of public keys (one per line) of the peers admitted on tcp:// endpoints; repeatable."
    )
    public static let insecurePlaintext = Setting(
        env: "ROLLCAST_INSECURE_PLAINTEXT", default: false, help: "Bind tcp:// endpoints other machines can reach without CURVE; refused otherwise."
    )
}
