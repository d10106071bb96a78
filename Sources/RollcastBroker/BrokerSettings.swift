import RollcastCore

/// The broker's own settings, each declared once (the shared ones are ``SharedSettings``).
public enum BrokerSettings {
    public static let producerEndpoint = OptionalSetting(
        env: "ROLLCAST_BROKER_PRODUCER_ENDPOINT", default: "ipc://<run dir>/broker-in.sock", help: "Where producers publish into the broker (XSUB)."
    )
    public static let gatewayEndpoint = OptionalSetting(
        env: "ROLLCAST_BROKER_GATEWAY_ENDPOINT", default: "ipc://<run dir>/broker-out.sock", help: "Where gateways subscribe (XPUB)."
    )
    public static let silenceTimeout = Setting(
        env: "ROLLCAST_BROKER_SILENCE_TIMEOUT", default: 10.0,
        help: "Seconds a producer may stay silent before its last snapshot is no longer handed out."
    )
}
