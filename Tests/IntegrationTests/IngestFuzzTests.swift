import Foundation
import RollcastCore
import RollcastProducer
import Testing
import ZeroMQ

/// Random and mutated batches against both doors (HTTP and the ingest socket) of real
/// processes: nothing crashes or hangs, memory stays bounded, and afterwards the windows hold
/// exactly the ticks of the batches that were accepted, merged as documented.
@Suite("Ingest fuzzing", .serialized, .timeLimit(.minutes(4)))
struct IngestFuzzTests {
    static let cases = 3_000
    /// A day, so that no accepted tick leaves its window while the test runs.
    static let producerArguments = [
        "--no-mock-feed", "--interval", "0.5", "--max-points", "0", "--window", "86400", "--max-symbols", "100000", "--forget-empty-after", "3600",
    ]

    @Test("a few thousand random and mutated batches over HTTP, then the same over the ingest socket")
    func fuzz() async throws {
        var generator = SplitMix64(seed: 20_261_201)
        let now = Date().timeIntervalSince1970
        let cases = (0..<Self.cases).map { _ in FuzzCase.make(using: &generator, now: now) }

        // HTTP: the producer's answer says which cases were accepted.
        let (httpWindows, accepted) = try await RollcastStack.with(producerArguments: Self.producerArguments) { stack in
            try await stack.waitUntilReady()
            let producer = try #require(stack.producer)
            let rssBefore = producer.residentKiB
            var accepted: [Bool] = []
            for body in cases {
                let answer = try await stack.request(.POST, "/api/ingest", rawBody: body, timeout: .seconds(5))
                #expect(answer.status == .ok || answer.status == .badRequest || answer.status == .payloadTooLarge, "\(answer.status): \(answer.body)")
                if answer.status != .ok { #expect(answer.errorReason != nil, "a refusal has a JSON reason: \(answer.body)") }
                accepted.append(answer.status == .ok)
            }
            #expect(producer.isRunning)
            #expect(producer.residentKiB - rssBefore < 64 * 1024, "producer RSS grew by \(producer.residentKiB - rssBefore) KiB")
            return (try await Self.settledWindow(stack, batches: accepted.filter { $0 }.count, door: \.http), accepted)
        }
        #expect(accepted.contains(true) && accepted.contains(false), "the cases hold both kinds")

        // What the accepted batches must leave, by an independent model of the window rules.
        var model = WindowModel()
        for (body, ok) in zip(cases, accepted) where ok {
            model.apply(try TickBatch.read(body, rules: TickRules(), now: .infinity), now: now)
        }
        Self.compare(httpWindows, with: model, door: "HTTP")

        // The ingest socket: the same bytes, in the same order, with no answers.
        try await RollcastStack.with(producerArguments: Self.producerArguments) { stack in
            try await stack.waitUntilReady()
            let producer = try #require(stack.producer)
            let rssBefore = producer.residentKiB
            let pusher = try Pusher(endpoint: stack.ingestEndpoint)
            try await Task.detached { () throws in
                for body in cases { #expect(try pusher.socket.send(body)) }
            }.value
            // Open until every batch is counted: a PUSH socket closed while the receiver's queue
            // is full loses what is still in flight, whatever its linger (libzmq 4.3).
            let socketWindows = try await Self.settledWindow(stack, batches: accepted.filter { $0 }.count, door: \.socket)
            pusher.socket.close()
            let status = try #require(try await stack.producerStatus())
            #expect(status.ingest.socket.batches + status.ingest.socket.duplicates == accepted.filter { $0 }.count)
            #expect(status.ingest.socket.refused == accepted.filter { !$0 }.count)
            #expect(producer.isRunning)
            #expect(producer.residentKiB - rssBefore < 64 * 1024, "producer RSS grew by \(producer.residentKiB - rssBefore) KiB")
            Self.compare(socketWindows, with: model, door: "ingest socket")
        }
    }

    /// The windows once the producer has counted `batches` accepted batches through `door`.
    static func settledWindow(_ stack: RollcastStack, batches: Int, door: KeyPath<IngestStatus, IngestStatus.Source>) async throws -> [ChartObject] {
        let status = try await poll("every batch counted", within: .seconds(60)) { () -> ProducerStatus? in
            guard let status = try await stack.producerStatus() else { return nil }
            let source = status.ingest[keyPath: door]
            return source.batches + source.duplicates + source.refused >= cases ? status : nil
        }
        #expect(status.ingest[keyPath: door].batches + status.ingest[keyPath: door].duplicates == batches)
        return try await poll("a snapshot after the last batch", within: .seconds(15)) { () -> [ChartObject]? in
            let charts = try await stack.window()
            return charts.first.map { $0.seq > status.seq } == true ? charts : nil
        }
    }

    static func compare(_ charts: [ChartObject], with model: WindowModel, door: String) {
        let held = Dictionary(uniqueKeysWithValues: charts.map { ($0.symbol, $0) })
        #expect(Set(held.keys) == Set(model.windows.keys), "\(door): symbols")
        for (symbol, window) in model.windows where !model.uncertain.contains(symbol) {
            guard let chart = held[symbol] else { continue }
            let times = window.keys.sorted()
            #expect(chart.t == times, "\(door): \(symbol) times")
            #expect(chart.price == times.map { window[$0]!.price }, "\(door): \(symbol) prices")
            #expect(chart.volume == times.map { window[$0]!.volume }, "\(door): \(symbol) volumes")
        }
    }
}

/// A PUSH socket for a test: sends block for up to 30 s at the high-water mark.
final class Pusher: @unchecked Sendable {
    // Safe to share: used by one task at a time.
    let socket: ZMQSocket

    init(endpoint: String) throws {
        socket = try ZMQSocket(context: try ZMQContext(), type: .push)
        try socket.setSendTimeout(milliseconds: 30_000)
        try socket.connect(endpoint)
    }
}

/// The window rules, written plainly: a dictionary by time per symbol.
struct WindowModel {
    var windows: [String: [Double: (price: Double, volume: Double)]] = [:]
    /// Symbols with a tick so near a clock boundary that the two runs may judge it apart.
    var uncertain: Set<String> = []
    var appliedIDs: Set<String> = []

    mutating func apply(_ batch: TickBatch, now: Double) {
        if let id = batch.batchID, !appliedIDs.insert(id).inserted { return }
        for tick in batch.ticks {
            if abs(tick.t - (now - 86_400)) < 600 || abs(tick.t - (now + 5)) < 600 { uncertain.insert(tick.symbol) }
            // A symbol whose ticks are all too old still gets its (empty) window.
            if windows[tick.symbol] == nil { windows[tick.symbol] = [:] }
            guard tick.t >= now - 86_400 else { continue }
            if let held = windows[tick.symbol]![tick.t] {
                let sum = held.volume + tick.volume
                windows[tick.symbol]![tick.t] = (tick.price, sum.isFinite ? sum : .greatestFiniteMagnitude)
            } else {
                windows[tick.symbol]![tick.t] = (tick.price, tick.volume)
            }
        }
    }
}

/// One fuzz input: random bytes, or a valid batch with a mutation or none.
enum FuzzCase {
    static let keys = ["symbol", "t", "price", "volume"]

    static func make(using generator: inout SplitMix64, now: Double) -> [UInt8] {
        switch UInt64.random(in: 0..<10, using: &generator) {
        case 0:
            return (0..<Int.random(in: 0...4_096, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        case 1, 2:
            return Array(validBatch(using: &generator, now: now).utf8)
        default:
            var bytes = Array(validBatch(using: &generator, now: now).utf8)
            for _ in 0..<Int.random(in: 1...3, using: &generator) { mutate(&bytes, using: &generator) }
            return bytes
        }
    }

    static func validBatch(using generator: inout SplitMix64, now: Double) -> String {
        let ticks = (0..<Int.random(in: 1...20, using: &generator)).map { _ -> String in
            let symbol = "F\(UInt64.random(in: 0..<10, using: &generator))"
            // Whole milliseconds over the last hour, sometimes repeating a time (merges).
            let t = (now - 3_600 + Double(UInt64.random(in: 0..<3_000, using: &generator)) * 1.001).rounded(.down)
            let price = Double(UInt64.random(in: 100...99_999, using: &generator)) / 100
            let volume = UInt64.random(in: 0..<3, using: &generator) == 0 ? "" : #","volume":\#(UInt64.random(in: 0...500, using: &generator))"#
            return #"{"symbol":"\#(symbol)","t":\#(t),"price":\#(price)\#(volume)}"#
        }
        // Some ids repeat: a retry must be applied once through either door.
        let id = UInt64.random(in: 0..<3, using: &generator) == 0 ? #","batch_id":"b-\#(UInt64.random(in: 0..<400, using: &generator))""# : ""
        return #"{"ticks":[\#(ticks.joined(separator: ","))]\#(id)}"#
    }

    static func mutate(_ bytes: inout [UInt8], using generator: inout SplitMix64) {
        guard !bytes.isEmpty else { return }
        let position = Int.random(in: 0..<bytes.count, using: &generator)
        switch UInt64.random(in: 0..<7, using: &generator) {
        case 0: bytes[position] = UInt8.random(in: 0...255, using: &generator)
        case 1: bytes.remove(at: position)
        case 2: bytes.insert(Array(#"0123456789.-e"{}[],: "#.utf8).randomElement(using: &generator)!, at: position)
        case 3: bytes.removeLast(bytes.count - position)
        case 4:
            // A number somewhere replaced with a value a careless client sends.
            let values = ["1e308", "-1", "0", "1796131255000", "NaN", "1e999", "\"x\"", "null", "1e-400", "-0", "17961312550000000000"]
            let text = String(decoding: bytes, as: UTF8.self)
            let digits = text.indices.filter { text[$0].isNumber }
            guard let index = digits.randomElement(using: &generator) else { return }
            var end = index
            while end < text.endIndex, "0123456789.eE+-".contains(text[end]) { end = text.index(after: end) }
            var start = index
            while start > text.startIndex, "0123456789.eE+-".contains(text[text.index(before: start)]) { start = text.index(before: start) }
            bytes = Array((text[..<start] + values.randomElement(using: &generator)! + text[end...]).utf8)
        case 5:
            let text = String(decoding: bytes, as: UTF8.self)
            let key = keys.randomElement(using: &generator)!
            bytes = Array(text.replacingOccurrences(of: "\"\(key)\"", with: ["\"volumne\"", "\"\"", "\"\(key)\",\"\(key)\""].randomElement(using: &generator)!).utf8)
        default:
            let slice = bytes[position..<min(bytes.count, position + Int.random(in: 1...40, using: &generator))]
            bytes.insert(contentsOf: slice, at: position)
        }
    }
}
