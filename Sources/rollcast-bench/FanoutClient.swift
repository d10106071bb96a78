import ArgumentParser
import NIOCore

/// How benchmark clients read their messages.
enum FanoutReader: String, ExpressibleByArgument, CaseIterable {
    /// Parse frame headers, keep the first bytes of each message, skip the rest without
    /// copying it: the load generator costs as little CPU as it can, so the figures are
    /// mostly the gateway's.
    case skim
    /// NIO's WebSocket frame decoder: every message gathered whole, as a browser does.
    case decode
}

/// How a benchmark client connects: a WebSocket to a path, or a Server-Sent Events stream.
enum ClientTransport: String, ExpressibleByArgument, CaseIterable, Sendable {
    case websocket
    case sse
}

/// Opens `count` connections (WebSockets to `/ws/realtime_charts`, or event streams), at most
/// `inFlight` at a time. The connections live until `group` shuts down.
/// - Parameter query: client `i`'s query string (without `?`), if it has one (its symbols).
/// - Parameter path: the WebSocket's path, for a relay other than the gateway.
func connectClients(
    count: Int, port: Int, group: any EventLoopGroup, recorder: FanoutRecorder, deflate: Bool, reader: FanoutReader,
    delta: Bool = false, token: String? = nil, bytesPerSecond: Double? = nil, inFlight: Int = 256, transport: ClientTransport = .websocket,
    path: String = "/ws/realtime_charts", query: @escaping @Sendable (Int) -> String? = { _ in nil }
) async {
    await withTaskGroup(of: Void.self) { tasks in
        var next = 0
        func startOne() {
            let client = next
            next += 1
            tasks.addTask {
                let upgraded: Bool
                switch (transport, reader) {
                case (.sse, _):
                    let parameters = ([delta ? "stream=delta" : nil, query(client)] as [String?]).compactMap { $0 }.joined(separator: "&")
                    upgraded = await connectEventStreamClient(
                        client, port: port, path: "/sse/realtime_charts" + (parameters.isEmpty ? "" : "?\(parameters)"), group: group, recorder: recorder
                    )
                case (.websocket, .skim):
                    upgraded = await connectSkimmingClient(
                        client, port: port, path: path + (query(client).map { "?\($0)" } ?? ""), group: group, recorder: recorder, deflate: deflate,
                        delta: delta, token: token, bytesPerSecond: bytesPerSecond
                    )
                case (.websocket, .decode):
                    upgraded = await connectDecodingClient(
                        client, port: port, group: group, recorder: recorder, deflate: deflate, delta: delta, token: token, bytesPerSecond: bytesPerSecond
                    )
                }
                if upgraded { recorder.markUpgraded() } else { recorder.markFailed() }
            }
        }
        while next < min(count, inFlight) { startOne() }
        for await _ in tasks where next < count { startOne() }
    }
}

/// The `Sec-WebSocket-Protocol` a benchmark client offers: the delta stream if asked for, and a
/// token as a `bearer.` subprotocol beside `rollcast.v1` (as the dashboard sends it); `nil` for none.
func offeredSubprotocols(delta: Bool, token: String?) -> String? {
    var offered = delta ? ["rollcast.delta.v1"] : []
    if let token { offered += (delta ? [] : ["rollcast.v1"]) + ["bearer.\(token)"] }
    return offered.isEmpty ? nil : offered.joined(separator: ", ")
}
