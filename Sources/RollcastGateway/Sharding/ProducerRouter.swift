import RollcastCore
import ZeroMQ

/// Which producer takes the writes for each symbol, from the producers the latest message holds.
///
/// With one producer every write goes to the control endpoint it announces (the same for every
/// gateway that sees it), or to `--control-endpoint` when it announces none it can reach; with
/// none yet, to `--control-endpoint`.
/// With several, a symbol a producer sends goes to that producer (to the one whose name sorts
/// first, when two send it: the one whose chart is shown), and a symbol no producer holds goes
/// to the live producer that wins a rendezvous hash of producer name and symbol: the same
/// producer in every gateway, and only the symbols of a producer that leaves move elsewhere.
/// Each producer is reached at the control endpoint it announces in its snapshot headers.
struct ProducerRouter {
    /// A producer writes can go to, or the reason they cannot.
    struct Destination: Hashable {
        /// The producer's name; `nil` for `--control-endpoint` with one producer or none.
        let producer: String?
        let target: Result<ControlTarget, Unreachable>
    }

    struct Unreachable: Error, Hashable {
        let reason: String
    }

    private let fallback: ControlTarget
    private let sources: [ProducerSource]
    private let destinations: [Destination]
    private let owners: [String: Int]
    /// Producers a new symbol may go to: the live ones, or all when none is.
    private let candidates: [Int]

    /// - Parameters:
    ///   - keyPair: this gateway's CURVE key pair, for producers whose control socket is a `tcp://` CURVE server.
    init(sources: [ProducerSource], fallback: ControlTarget, keyPair: CurveKeyPair?) {
        // With one producer held, its writes go where it says it takes them, as every gateway
        // that sees it alone routes them: behind brokers two gateways may each see a different
        // producer first, and their own --control-endpoints would send a new symbol to both.
        // A producer that announces nothing, or nothing this gateway can reach, is --control-endpoint's.
        if sources.count == 1, case .success(let announced) = Self.target(of: sources[0], fallback: fallback, keyPair: keyPair) {
            self.fallback = announced
        } else {
            self.fallback = fallback
        }
        let sources = sources.count > 1 ? sources : []
        self.sources = sources
        destinations = sources.map { source in
            Destination(producer: source.name, target: Self.target(of: source, fallback: fallback, keyPair: keyPair))
        }
        var owners: [String: Int] = [:]
        for (index, source) in sources.enumerated() {
            for symbol in source.symbols ?? [] where owners[symbol] == nil { owners[symbol] = index }
        }
        self.owners = owners
        let live = sources.indices.filter { sources[$0].isLive() }
        candidates = live.isEmpty ? Array(sources.indices) : live
    }

    /// Whether writes may need splitting between producers.
    var isSharded: Bool { !sources.isEmpty }

    /// The one destination when there are not several producers.
    var single: Destination { Destination(producer: nil, target: .success(fallback)) }

    /// Every producer held, in name order (none when there are not several).
    var allDestinations: [Destination] { destinations }

    /// A producer for a write that names no symbol it can be routed by.
    var anyDestination: Destination {
        guard isSharded else { return single }
        return destinations[candidates.first!]
    }

    /// Where the writes for `symbol` go.
    func destination(of symbol: String) -> Destination {
        guard isSharded else { return single }
        if let owner = owners[symbol] { return destinations[owner] }
        let chosen = candidates.max { a, b in
            (Self.weight(sources[a].name, symbol), sources[a].name) < (Self.weight(sources[b].name, symbol), sources[b].name)
        }!
        return destinations[chosen]
    }

    /// The rendezvous weight of a producer for a symbol: FNV-1a (64 bits) of both, then
    /// SplitMix64's finalizer, since FNV alone hardly mixes names that differ in one byte.
    static func weight(_ producer: String, _ symbol: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in producer.utf8 + [0] + symbol.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        hash = (hash ^ (hash >> 30)) &* 0xbf58_476d_1ce4_e5b9
        hash = (hash ^ (hash >> 27)) &* 0x94d0_49bb_1331_11eb
        return hash ^ (hash >> 31)
    }

    /// How to reach a producer's announced control socket from here.
    private static func target(of source: ProducerSource, fallback: ControlTarget, keyPair: CurveKeyPair?) -> Result<ControlTarget, Unreachable> {
        guard let control = source.control else { return .success(fallback) }
        if control.endpoint == fallback.endpoint { return .success(fallback) }
        guard let host = ListenAddress.tcpHost(of: control.endpoint) else {
            return control.endpoint.hasPrefix("ipc://")
                ? .success(ControlTarget(endpoint: control.endpoint, curve: nil))
                : .failure(Unreachable(reason: "producer '\(source.name)' announced a control endpoint this gateway does not use: \(control.endpoint)"))
        }
        if let key = control.curveKey {
            guard let keyPair else {
                return .failure(
                    Unreachable(reason: "producer '\(source.name)' takes writes over CURVE (\(control.endpoint)); start the gateway with --curve-secret-key")
                )
            }
            return .success(ControlTarget(endpoint: control.endpoint, curve: CurveClientSettings(keyPair: keyPair, serverKey: key)))
        }
        guard ListenAddress.isLoopback(host) else {
            return .failure(Unreachable(reason: "producer '\(source.name)' announced a plaintext control endpoint on another machine (\(control.endpoint)); give it CURVE keys"))
        }
        return .success(ControlTarget(endpoint: control.endpoint, curve: nil))
    }
}
