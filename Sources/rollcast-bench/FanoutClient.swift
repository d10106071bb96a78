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

/// Opens `count` WebSocket connections to `/ws/realtime_charts`, at most `inFlight` at a time.
/// The connections live until `group` shuts down.
func connectClients(
    count: Int, port: Int, group: any EventLoopGroup, recorder: FanoutRecorder, deflate: Bool, reader: FanoutReader,
    delta: Bool = false, token: String? = nil, bytesPerSecond: Double? = nil, inFlight: Int = 256
) async {
    await withTaskGroup(of: Void.self) { tasks in
        var next = 0
        func startOne() {
            let client = next
            next += 1
            tasks.addTask {
                let upgraded: Bool
                switch reader {
                case .skim:
                    upgraded = await connectSkimmingClient(
                        client, port: port, group: group, recorder: recorder, deflate: deflate, delta: delta, token: token, bytesPerSecond: bytesPerSecond
                    )
                case .decode:
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
