import HummingbirdWSClient
import Logging

/// A WebSocket client that collects what a server sends.
enum WebSocketProbe {
    /// Snapshots can be large; the client's default frame limit (16 KiB) would end the stream.
    static let configuration = WebSocketClientConfiguration(maxFrameSize: 64 << 20)

    /// Connects, returns the first `count` text messages, then closes.
    static func messages(_ count: Int, from url: String, within limit: Duration) async throws -> [String] {
        try await collect(count, from: url, within: limit) { $0 }
    }

    /// Connects, keeps `transform` of each of the first `count` text messages, then closes.
    static func collect<T: Sendable>(
        _ count: Int, from url: String, within limit: Duration, _ transform: @escaping @Sendable (String) -> T
    ) async throws -> [T] {
        try await withTimeout(limit, "\(count) WebSocket messages from \(url)") {
            let collected = Collected<T>()
            try await WebSocketClient.connect(url: url, configuration: configuration, logger: Logger(label: "probe")) { inbound, _, _ in
                for try await message in inbound.messages(maxSize: 64 << 20) {
                    guard case .text(let text) = message else { continue }
                    if await collected.append(transform(text)) >= count { return }
                }
            }
            return await collected.items
        }
    }

    /// Connects and keeps `transform` of each text message until `done` says so.
    static func collectUntil<T: Sendable>(
        from url: String, within limit: Duration,
        into collected: Collected<T> = Collected<T>(),
        _ transform: @escaping @Sendable (String) throws -> T,
        done: @escaping @Sendable ([T]) -> Bool
    ) async throws -> [T] {
        try await withTimeout(limit, "messages from \(url)") {
            try await WebSocketClient.connect(url: url, configuration: configuration, logger: Logger(label: "probe")) { inbound, _, _ in
                for try await message in inbound.messages(maxSize: 64 << 20) {
                    guard case .text(let text) = message else { continue }
                    _ = await collected.append(try transform(text))
                    if done(await collected.items) { return }
                }
            }
            return await collected.items
        }
    }

    /// Connects and reads until the server closes; returns the close code it sent.
    static func closeCode(from url: String, onConnect: @escaping @Sendable () async -> Void, within limit: Duration) async throws -> UInt16? {
        try await withTimeout(limit, "the server to close \(url)") {
            let frame = try await WebSocketClient.connect(url: url, configuration: configuration, logger: Logger(label: "probe")) { inbound, _, _ in
                var first = true
                for try await _ in inbound.messages(maxSize: 64 << 20) where first {
                    first = false
                    await onConnect()
                }
            }
            return frame.map { UInt16(webSocketErrorCode: $0.closeCode) }
        }
    }

    /// The `seq` of a snapshot message, found without decoding the whole payload.
    static func seq(of text: String) -> UInt64? {
        guard let range = text.range(of: #""seq":"#) else { return nil }
        return UInt64(text[range.upperBound...].prefix { $0.isNumber })
    }
}

actor Collected<T: Sendable> {
    var items: [T] = []
    func append(_ item: T) -> Int {
        items.append(item)
        return items.count
    }
}

import NIOCore
import NIOWebSocket

extension UInt16 {
    init(webSocketErrorCode code: WebSocketErrorCode) {
        var buffer = ByteBuffer()
        buffer.write(webSocketErrorCode: code)
        self = buffer.readInteger(as: UInt16.self) ?? 0
    }
}
