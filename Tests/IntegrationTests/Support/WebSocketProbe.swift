import HummingbirdWSClient
import Logging

/// A WebSocket client that collects the text messages a server sends.
enum WebSocketProbe {
    /// Snapshots can be large; the client's default frame limit (16 KiB) would end the stream.
    static let configuration = WebSocketClientConfiguration(maxFrameSize: 64 << 20)

    /// Connects, returns the first `count` text messages, then closes.
    static func messages(_ count: Int, from url: String, within limit: Duration) async throws -> [String] {
        try await withTimeout(limit, "\(count) WebSocket messages from \(url)") {
            let collected = MessageBox()
            try await WebSocketClient.connect(url: url, configuration: configuration, logger: Logger(label: "probe")) { inbound, _, _ in
                for try await message in inbound.messages(maxSize: 64 << 20) {
                    guard case .text(let text) = message else { continue }
                    await collected.append(text)
                    if await collected.count >= count { return }
                }
            }
            return await collected.items
        }
    }
}

actor MessageBox {
    var items: [String] = []
    var count: Int { items.count }
    func append(_ item: String) { items.append(item) }
}
