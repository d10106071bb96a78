import Foundation
import RollcastCore
import Testing

/// Clients that choose their symbols (`?symbols=`), against the unfiltered stream of the same
/// real gateway.
@Suite("Symbol subscriptions", .serialized, .timeLimit(.minutes(2)))
struct SubscriptionTests {
    /// Each chart object of a full-stream message, as the bytes it was sent as, by symbol.
    static func chartTexts(_ message: String) throws -> [(symbol: String, text: String)] {
        let bytes = Array(message.utf8)
        return try JSONArraySplitter.elementRanges(in: bytes).map { range in
            let text = String(decoding: bytes[range], as: UTF8.self)
            let symbol = try JSONDecoder().decode(ChartObject.self, from: Data(text.utf8)).symbol
            return (symbol, text)
        }
    }

    struct Received: Sendable {
        var all: [String] = []
        var chosen: [[String]]
        var deltas: [String] = []
    }

    /// `count` messages each: the unfiltered stream, one client per list, and a delta client of `A*`.
    static func receive(_ count: Int, port: Int, lists: [String]) throws -> Received {
        let all = try RawWebSocket(port: port)
        let chosen = try lists.map { try RawWebSocket(port: port, path: "/ws/realtime_charts?symbols=\($0)") }
        let delta = try RawWebSocket(port: port, path: "/ws/realtime_charts?symbols=A*", headers: ["Sec-WebSocket-Protocol: rollcast.delta.v1"])
        var received = Received(chosen: Array(repeating: [], count: lists.count))
        for _ in 0..<count {
            received.all.append(try all.nextText())
            for index in chosen.indices { received.chosen[index].append(try chosen[index].nextText()) }
            received.deltas.append(try delta.nextText())
        }
        return received
    }

    @Test(
        "clients with different selections and one without: at every seq each gets exactly its symbols, each chart the same bytes as the unfiltered stream's; the delta stream of a selection rebuilds it"
    )
    func selections() async throws {
        let symbols = "A1,A2,B1,FX:EUR,FX:GBP"
        try await RollcastStack.with(producerArguments: ["--mock-symbols", symbols, "--mock-rate", "5", "--interval", "0.2", "--window", "10"]) { stack in
            try await stack.waitUntilReady()
            let port = stack.port
            let lists = ["A1,FX:*", "B1", "FX:GBP,NOPE"]
            let received = try await Task.detached { try Self.receive(12, port: port, lists: lists) }.value
            try Self.check(received, lists: lists)
        }
    }

    /// Each list's messages against the unfiltered stream's at the same seq, and `A*`'s delta stream rebuilt.
    static func check(_ received: Received, lists: [String]) throws {
        let (all, chosen, deltas) = (received.all, received.chosen, received.deltas)

        var unfiltered: [UInt64: [(symbol: String, text: String)]] = [:]
        for message in all { if let seq = WebSocketProbe.seq(of: message) { unfiltered[seq] = try Self.chartTexts(message) } }
        for (index, list) in lists.enumerated() {
            let wanted = Set(list.split(separator: ",").map(String.init))
            var compared = 0
            for message in chosen[index] {
                let charts = try Self.chartTexts(message)
                #expect(charts.allSatisfy { wanted.contains($0.symbol) || ($0.symbol.hasPrefix("FX:") && wanted.contains("FX:*")) }, "\(list): \(charts.map(\.symbol))")
                guard let seq = WebSocketProbe.seq(of: message), let reference = unfiltered[seq] else { continue }
                let expected = reference.filter { wanted.contains($0.symbol) || ($0.symbol.hasPrefix("FX:") && wanted.contains("FX:*")) }
                #expect(charts.map(\.text) == expected.map(\.text), "\(list) at seq \(seq): not the unfiltered stream's bytes")
                compared += 1
            }
            #expect(compared >= 8, "\(list): compared at \(compared) seqs")
        }

        var reader = DeltaStreamCharts()
        var deltaCount = 0
        for text in deltas {
            let message = try JSONDecoder().decode(DeltaStreamMessage.self, from: Data(text.utf8))
            try reader.apply(message)
            if case .delta = message { deltaCount += 1 }
            guard let reference = unfiltered[message.seq] else { continue }
            let expected = try reference.filter { $0.symbol.hasPrefix("A") }.map { try JSONDecoder().decode(ChartObject.self, from: Data($0.text.utf8)) }
            #expect(reader.sorted == expected, "A* rebuilt at seq \(message.seq)")
        }
        #expect(deltaCount == 11, "one full message, then deltas")
    }

    @Test("a list that cannot be read is refused before the upgrade with 400 naming the entry; past --max-subscription-sets a new selection gets 503, a held one is taken")
    func refusals() async throws {
        try await RollcastStack.with(producerArguments: ["--mock-symbols", "S1,S2,S3", "--interval", "0.3"], gatewayArguments: ["--max-subscription-sets", "2"]) {
            stack in
            try await stack.waitUntilReady()
            let port = stack.port
            try await Task.detached {
                let bad = try RawWebSocket(port: port, path: "/ws/realtime_charts?symbols=S1,S%202")
                #expect(bad.status == 400, "\(bad.responseHead)")
                #expect(bad.responseBody == #"{"error":"symbols entry 2 ('S 2'): symbol 'S 2' may hold only letters, digits and . _ - : /"}"#)
                let held = try [RawWebSocket(port: port, path: "/ws/realtime_charts?symbols=S1"), RawWebSocket(port: port, path: "/ws/realtime_charts?symbols=S2")]
                for socket in held { _ = try socket.nextText() }
                let full = try RawWebSocket(port: port, path: "/ws/realtime_charts?symbols=S3")
                #expect(full.status == 503, "\(full.responseHead)")
                #expect(full.responseBody.contains("the gateway holds its maximum of 2 distinct symbol selections"), "\(full.responseBody)")
                // The same selection as a connected client's, and every symbol, are taken.
                let same = try RawWebSocket(port: port, path: "/ws/realtime_charts?symbols=S2")
                #expect(try same.nextText().contains(#""symbol":"S2""#))
                let everything = try RawWebSocket(port: port)
                #expect(try everything.nextText().contains(#""symbol":"S3""#))
            }.value
            // The clients above are gone: their selections' places are free again.
            _ = try await poll("a new selection to be taken again", within: .seconds(15)) { () -> Bool? in
                try await Task.detached { try RawWebSocket(port: port, path: "/ws/realtime_charts?symbols=S3").status == 101 }.value ? true : nil
            }
        }
    }

    @Test("a delta client changes what it watches while connected: the next message is the new selection in full, deltas after; a malformed change closes with its code and reason")
    func changeWhileConnected() async throws {
        try await RollcastStack.with(producerArguments: ["--mock-symbols", "A1,B1,C1", "--mock-rate", "5", "--interval", "0.2", "--window", "10"]) { stack in
            try await stack.waitUntilReady()
            let port = stack.port
            try await Task.detached {
                func symbols(_ text: String) throws -> (kind: String, symbols: [String]) {
                    let message = try JSONDecoder().decode(DeltaStreamMessage.self, from: Data(text.utf8))
                    switch message {
                    case .full(_, _, let charts): return ("full", charts.map(\.symbol))
                    case .delta(let delta): return ("delta", delta.charts.map(\.symbol) + delta.added.map(\.symbol))
                    }
                }
                let client = try RawWebSocket(port: port, path: "/ws/realtime_charts?symbols=A1", headers: ["Sec-WebSocket-Protocol: rollcast.delta.v1"])
                #expect(try symbols(client.nextText()) == ("full", ["A1"]))
                #expect(try symbols(client.nextText()).kind == "delta")
                try client.sendFrame(opcode: 1, payload: Array(#"{"subscribe":["B*"]}"#.utf8))
                // Deltas of the old selection may be on their way; then the new selection, whole.
                var next = try symbols(client.nextText())
                while next.kind == "delta", next.symbols.allSatisfy({ $0 == "A1" }) { next = try symbols(client.nextText()) }
                #expect(next.kind == "full" && next.symbols == ["A1", "B1"], "\(next)")
                let after = try symbols(client.nextText())
                #expect(after.kind == "delta" && after.symbols.allSatisfy { ["A1", "B1"].contains($0) }, "\(after)")
                try client.sendFrame(opcode: 1, payload: Array(#"{"unsubscribe":["A1"]}"#.utf8))
                next = try symbols(client.nextText())
                while next.kind == "delta" { next = try symbols(client.nextText()) }
                #expect(next.symbols == ["B1"])

                // Back to every symbol, as a page whose filter is cleared asks.
                let narrow = try RawWebSocket(port: port, path: "/ws/realtime_charts?symbols=B*%2Cb*", headers: ["Sec-WebSocket-Protocol: rollcast.delta.v1"])
                #expect(try symbols(narrow.nextText()) == ("full", ["B1"]))
                try narrow.sendFrame(opcode: 1, payload: Array(#"{"unsubscribe":["B*","b*"],"subscribe":["*"]}"#.utf8))
                next = try symbols(narrow.nextText())
                while next.kind == "delta" { next = try symbols(narrow.nextText()) }
                #expect(next.symbols == ["A1", "B1", "C1"], "\(next)")

                let bad = try RawWebSocket(port: port, headers: ["Sec-WebSocket-Protocol: rollcast.delta.v1"])
                _ = try bad.nextText()
                try bad.sendFrame(opcode: 1, payload: Array(#"{"subscribe":"B1"}"#.utf8))
                let close = try bad.closeFrame()
                #expect(close?.code == 1007)
                #expect(close?.reason == #"a message is {"subscribe":[…]} or {"unsubscribe":[…]}, lists of symbols and prefixes"#)

                // A full-stream client sends nothing of use: a change is dropped, its stream goes on whole.
                let full = try RawWebSocket(port: port)
                _ = try full.nextText()
                try full.sendFrame(opcode: 1, payload: Array(#"{"unsubscribe":["*"]}"#.utf8))
                let charts = try JSONDecoder().decode([ChartObject].self, from: Data(full.nextText().utf8))
                #expect(charts.map(\.symbol) == ["A1", "B1", "C1"])
            }.value
        }
    }
}
