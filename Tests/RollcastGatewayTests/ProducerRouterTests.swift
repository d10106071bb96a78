import NIOCore
import RollcastCore
import Testing
import ZeroMQ

@testable import RollcastGateway

private func source(_ name: String, symbols: [String], live: Bool = true, control: ControlAddress? = nil) -> ProducerSource {
    ProducerSource(
        name: name, runID: "run-\(name)", seq: 1, generatedAt: 0, intervalMilliseconds: 1_000, charts: symbols.count, hiddenSymbols: [],
        receivedAt: live ? .now : .now - .seconds(60), control: control ?? ControlAddress(endpoint: "ipc:///tmp/\(name)/control.sock"), symbols: symbols
    )
}

private let fallback = ControlTarget(endpoint: "ipc:///tmp/default/control.sock", curve: nil)

@Suite("Producer router")
struct ProducerRouterTests {
    @Test("none yet: every write goes to --control-endpoint; one producer: to the endpoint it announces, the same from every gateway")
    func single() throws {
        let none = ProducerRouter(sources: [], fallback: fallback, keyPair: nil)
        #expect(!none.isSharded)
        #expect(try none.destination(of: "X").target.get() == fallback)
        // Two gateways whose --control-endpoints differ, each seeing producer a alone (behind brokers).
        let other = ControlTarget(endpoint: "ipc:///tmp/other/control.sock", curve: nil)
        for configured in [fallback, other] {
            let router = ProducerRouter(sources: [source("a", symbols: ["X"])], fallback: configured, keyPair: nil)
            #expect(!router.isSharded)
            #expect(try router.destination(of: "NEW").target.get().endpoint == "ipc:///tmp/a/control.sock")
            #expect(try router.anyDestination.target.get().endpoint == "ipc:///tmp/a/control.sock")
        }
        // One that announces an endpoint this gateway cannot reach: --control-endpoint, as before.
        let remote = source("r", symbols: [], control: ControlAddress(endpoint: "tcp://10.1.2.3:5557"))
        #expect(try ProducerRouter(sources: [remote], fallback: fallback, keyPair: nil).destination(of: "X").target.get() == fallback)
    }

    @Test("several: a symbol goes to the producer that sends it, to the first by name when two do, each at its announced endpoint")
    func owners() throws {
        let router = ProducerRouter(sources: [source("a", symbols: ["A", "SAME"]), source("b", symbols: ["B", "SAME"])], fallback: fallback, keyPair: nil)
        #expect(router.destination(of: "A").producer == "a")
        #expect(router.destination(of: "B").producer == "b")
        #expect(router.destination(of: "SAME").producer == "a")
        #expect(try router.destination(of: "B").target.get().endpoint == "ipc:///tmp/b/control.sock")
    }

    @Test("a new symbol goes to a live producer chosen by a rendezvous hash: the same whatever the order, and only a leaving producer's symbols move")
    func newSymbols() {
        let symbols = (0..<300).map { "NEW-\($0)" }
        let three = [source("a", symbols: []), source("b", symbols: []), source("c", symbols: [])]
        let router = ProducerRouter(sources: three, fallback: fallback, keyPair: nil)
        let reversed = ProducerRouter(sources: three.reversed(), fallback: fallback, keyPair: nil)
        let chosen = symbols.map { router.destination(of: $0).producer! }
        #expect(chosen == symbols.map { reversed.destination(of: $0).producer! })
        // Spread over all three.
        for name in ["a", "b", "c"] { #expect(chosen.filter { $0 == name }.count > 60, "\(name) got \(chosen.filter { $0 == name }.count) of 300") }
        // c stops: only c's symbols move; c is not chosen while others are live.
        let withoutC = ProducerRouter(sources: [three[0], three[1], source("c", symbols: [], live: false)], fallback: fallback, keyPair: nil)
        for (symbol, before) in zip(symbols, chosen) {
            let after = withoutC.destination(of: symbol).producer!
            #expect(after != "c")
            if before != "c" { #expect(after == before, "\(symbol) moved from \(before) to \(after)") }
        }
    }

    @Test("an announced endpoint this gateway must not or cannot use is refused with the reason")
    func unreachable() throws {
        let plaintext = source("far", symbols: ["F"], control: ControlAddress(endpoint: "tcp://10.1.2.3:5556"))
        let curve = source("curved", symbols: ["C"], control: ControlAddress(endpoint: "tcp://10.1.2.4:5556", curveKey: "k"))
        let local = source("near", symbols: ["N"], control: ControlAddress(endpoint: "tcp://127.0.0.1:5556"))
        let router = ProducerRouter(sources: [plaintext, curve, local], fallback: fallback, keyPair: nil)
        #expect(throws: ProducerRouter.Unreachable.self) { try router.destination(of: "F").target.get() }
        let reason = { (symbol: String) -> String in
            if case .failure(let unreachable) = router.destination(of: symbol).target { return unreachable.reason }
            return ""
        }
        #expect(reason("F").contains("plaintext control endpoint on another machine"))
        #expect(reason("C").contains("--curve-secret-key"))
        #expect(try router.destination(of: "N").target.get().endpoint == "tcp://127.0.0.1:5556")
        let keys = try ZMQCurve.generateKeyPair()
        let withKeys = ProducerRouter(sources: [plaintext, curve], fallback: fallback, keyPair: keys)
        #expect(try withKeys.destination(of: "C").target.get().curve?.serverKey == "k")
    }
}

@Suite("Ingest split")
struct IngestSplitTests {
    @Test("a batch is cut by owner, each tick's bytes and the batch_id untouched; refusals are renumbered to the batch's positions")
    func split() throws {
        let body = ByteBuffer(
            string: #"{"batch_id":"b-1","ticks":[{"symbol":"E","t":1.10,"price":2.50},{"price":3,"symbol":" W ","t":2},{"symbol":"E","t":3,"price":1e2}]}"#
        )
        let split = try #require(IngestSplit(body: body, group: { AnyHashable($0.hasPrefix("E") ? "east" : "west") }))
        #expect(split.parts.map(\.key) == ["east", "west"])
        let east = split.parts[0].part
        #expect(east.indices == [0, 2])
        #expect(String(decoding: split.body(of: east), as: UTF8.self) == #"{"ticks":[{"symbol":"E","t":1.10,"price":2.50},{"symbol":"E","t":3,"price":1e2}],"batch_id":"b-1"}"#)
        #expect(String(decoding: split.body(of: split.parts[1].part), as: UTF8.self) == #"{"ticks":[{"price":3,"symbol":" W ","t":2}],"batch_id":"b-1"}"#)
        #expect(IngestSplit.renumber("ticks[1].price must be a number; ticks[0] too", part: east) == "ticks[2].price must be a number; ticks[0] too")
    }

    @Test("a symbol is read as JSON reads it: an escaped one is routed by what it spells")
    func escapedSymbol() throws {
        let body = ByteBuffer(string: #"{"ticks":[{"symbol":"\u0045ast","t":1,"price":1},{"t":1,"symbol":"West\/1","price":1}]}"#)
        var seen: [String] = []
        _ = try #require(IngestSplit(body: body, group: { seen.append($0); return AnyHashable($0) }))
        #expect(seen == ["East", "West/1"])
        #expect(IngestSplit.symbol(of: Array(#"{"price":1,"symbol" : "AB"}"#.utf8)) == "AB")
    }

    @Test("what only a producer can explain is not cut: not JSON, an unknown field, a tick without a string symbol, no ticks")
    func notCut() {
        for text in [
            "not json", #"{"ticks":[{"symbol":"A","t":1,"price":1}],"colour":"red"}"#, #"{"ticks":[{"symbol":5,"t":1,"price":1}]}"#,
            #"{"ticks":[{"t":1,"price":1}]}"#, #"{"ticks":[]}"#, #"[1,2]"#, #"{"ticks":[{"symbol":"A","symbol":"B","t":1,"price":1}]}"#,
            #"{"ticks":[{"symbol":"A","t":1,"price":1},7]}"#, #"{"ticks":[{"symbol":null,"t":1,"price":1}]}"#,
        ] {
            #expect(IngestSplit(body: ByteBuffer(string: text), group: { AnyHashable($0) }) == nil, "\(text) was cut")
        }
    }
}

@Suite("Producer expositions")
struct ProducerExpositionsTests {
    @Test("several producers' metrics: every sample labelled with its producer, each family's HELP and TYPE once, a silent producer up 0")
    func merged() {
        let text = """
            # HELP rollcast_producer_ticks_total Ticks.
            # TYPE rollcast_producer_ticks_total counter
            rollcast_producer_ticks_total{outcome="appended"} 5
            # HELP rollcast_producer_symbols Symbols.
            # TYPE rollcast_producer_symbols gauge
            rollcast_producer_symbols 3
            """
        let merged = ProducerExpositions.merged([("east", text), ("we\"st", text.replacingOccurrences(of: "5", with: "7")), ("gone", nil)])
        #expect(
            merged == """
                # HELP rollcast_producer_up Whether the producer answered this scrape's request for its metrics (1) or not (0).
                # TYPE rollcast_producer_up gauge
                rollcast_producer_up{producer="east"} 1
                rollcast_producer_up{producer="we\\"st"} 1
                rollcast_producer_up{producer="gone"} 0
                # HELP rollcast_producer_ticks_total Ticks.
                # TYPE rollcast_producer_ticks_total counter
                rollcast_producer_ticks_total{producer="east",outcome="appended"} 5
                rollcast_producer_ticks_total{producer="we\\"st",outcome="appended"} 7
                # HELP rollcast_producer_symbols Symbols.
                # TYPE rollcast_producer_symbols gauge
                rollcast_producer_symbols{producer="east"} 3
                rollcast_producer_symbols{producer="we\\"st"} 3

                """
        )
    }
}
