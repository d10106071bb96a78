import RollcastCore

/// The gateway's own settings, each declared once: its flag's help, its variable and its
/// default come from here (the shared ones are ``SharedSettings``).
public enum GatewaySettings {
    public static let host = Setting(env: "ROLLCAST_HOST", default: "127.0.0.1", help: "Address to listen on.")
    public static let port = Setting(env: "ROLLCAST_PORT", default: 8000, help: "Port to listen on; 0 picks a free one.")
    public static let snapshotEndpoints = ListSetting(
        env: "ROLLCAST_SNAPSHOT_ENDPOINT", default: "ipc://<run dir>/snapshots.sock",
        help: "The producer's snapshot endpoint, or a broker's gateway side; repeatable: with two brokers, give both, and each snapshot is relayed once, from whichever copy comes first."
    )
    public static let controlEndpoint = OptionalSetting(
        env: "ROLLCAST_CONTROL_ENDPOINT", default: "ipc://<run dir>/control.sock", help: "The producer's control endpoint."
    )
    public static let webRoot = Setting(env: "ROLLCAST_WEB_ROOT", default: "web", help: "Folder of the dashboard served at /.")
    public static let portFile = OptionalSetting(env: "ROLLCAST_PORT_FILE", help: "Write the port actually bound to this file once listening.")
    public static let maxClients = Setting(
        env: "ROLLCAST_MAX_CLIENTS", default: 10_000, help: "Most WebSocket clients at once; upgrades past it get HTTP 503 with a reason."
    )
    public static let maxSubscriptionSets = Setting(
        env: "ROLLCAST_MAX_SUBSCRIPTION_SETS", default: 1_000,
        help: "Most distinct symbol selections (?symbols=) held at once, each composed once per snapshot; past it a client asking for a new one gets HTTP 503 with a reason."
    )
    public static let slowClientTimeout = Setting(
        env: "ROLLCAST_SLOW_CLIENT_TIMEOUT", default: 30.0, help: "Seconds a client's socket may stay unwritable before the client is closed."
    )
    public static let pingInterval = Setting(env: "ROLLCAST_PING_INTERVAL", default: 25.0, help: "Seconds between pings to each client.")
    public static let pongTimeout = Setting(
        env: "ROLLCAST_PONG_TIMEOUT", default: 10.0, help: "Seconds a client may take to answer a ping before it is closed."
    )
    public static let permessageDeflate = Setting(
        env: "ROLLCAST_PERMESSAGE_DEFLATE", default: false, help: "Offer permessage-deflate to clients; each snapshot is compressed once and shared."
    )
    public static let idleTimeout = Setting(
        env: "ROLLCAST_IDLE_TIMEOUT", default: 15.0,
        help: "Seconds a connection may stay idle between requests, or take to send a request's head, before it is closed."
    )
    public static let maxHTTPConnections = Setting(
        env: "ROLLCAST_MAX_HTTP_CONNECTIONS", default: 1_000,
        help: "Most connections besides the WebSocket clients (plain HTTP, upgrades under way); past it, and past --max-clients, new connections are closed at once. Both together stay under the open-file limit less 256."
    )
    public static let enableTestAPI = Setting(
        env: "ROLLCAST_ENABLE_TEST_API", default: false, help: "Serve the test API (POST /api/test/load_mock_data), for tests and demos; 404 otherwise."
    )
    public static let serverNames = ListSetting(
        env: "ROLLCAST_SERVER_NAMES",
        help: "A host name the gateway answers for besides its listen address (requests naming another Host get 421); repeatable."
    )
    public static let allowedOrigins = ListSetting(
        env: "ROLLCAST_ALLOWED_ORIGINS",
        help: "An origin (scheme://host[:port]) whose pages may open the WebSocket and post, besides the gateway's own; repeatable."
    )
    public static let jwtSecretFile = OptionalSetting(
        env: "ROLLCAST_JWT_SECRET_FILE",
        help: "File holding the HS256 key tokens are checked with, readable by its owner only; without it no route asks for a token."
    )
    public static let insecureNoAuth = Setting(
        env: "ROLLCAST_INSECURE_NO_AUTH", default: false, help: "Run without tokens on an address other machines can reach; refused otherwise."
    )
    public static let curveSecretKey = OptionalSetting(
        env: "ROLLCAST_CURVE_SECRET_KEY",
        help: "File holding this gateway's CURVE secret key (rollcast-keygen), readable by its owner only, for tcp:// links to a producer or a broker, and to the control sockets producers announce."
    )
    public static let curveServerKey = OptionalSetting(
        env: "ROLLCAST_CURVE_SERVER_KEY", help: "File holding the producer's CURVE public key; the gateway talks to no other."
    )
    public static let curveBrokerKey = OptionalSetting(
        env: "ROLLCAST_CURVE_BROKER_KEY",
        help: "File holding a broker's CURVE public key, when --snapshot-endpoint is a tcp:// broker; control still uses --curve-server-key."
    )
    public static let forgetProducerAfter = Setting(
        env: "ROLLCAST_FORGET_PRODUCER_AFTER", default: 300.0,
        help: "Seconds after which a silent producer's charts leave the message; until then they stay, marked stale by their age."
    )
}
