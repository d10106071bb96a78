/// A mock price series: a geometric random walk with its own seeded generator.
///
/// Two walks with the same symbol and seed produce the same prices; this is the
/// deterministic "data generation logic" behind `load_mock_data` and the mock feed.
public struct RandomWalk: Sendable {
    public private(set) var price: Double
    private var generator: SplitMix64
    /// Relative standard deviation of one step.
    private let volatility: Double

    public init(symbol: String, seed: UInt64, volatility: Double = 0.0007) {
        // Mixing the symbol in gives each symbol its own path under one seed.
        var generator = SplitMix64(seed: seed ^ Self.fnv1a(symbol))
        self.price = Self.rounded(Double(UInt64.random(in: 20...500, using: &generator)))
        self.generator = generator
        self.volatility = volatility
    }

    /// Takes one step and returns the new price, rounded to cents.
    public mutating func step() -> Double {
        let change = generator.nextGaussian() * volatility
        price = max(0.01, Self.rounded(price * (1 + change)))
        return price
    }

    /// A volume for one tick: a whole number of lots.
    public mutating func volume() -> Double {
        Double(UInt64.random(in: 1...100, using: &generator)) * 100
    }

    /// `count` ticks evenly spaced over `(end - span, end]`, times rounded to milliseconds.
    public mutating func history(count: Int, endingAt end: Double, span: Double) -> [Tick] {
        guard count > 0 else { return [] }
        let spacing = span / Double(count)
        return (0..<count).map { index in
            let time = Self.milliseconds(end - span + spacing * Double(index + 1))
            return Tick(time: time, price: step(), volume: volume())
        }
    }

    static func rounded(_ price: Double) -> Double { (price * 100).rounded() / 100 }

    /// Rounds Unix seconds to whole milliseconds, which also keeps the JSON short.
    public static func milliseconds(_ seconds: Double) -> Double { (seconds * 1000).rounded() / 1000 }

    /// A hash that, unlike `Hasher`, is the same in every process.
    static func fnv1a(_ text: String) -> UInt64 {
        text.utf8.reduce(0xCBF2_9CE4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01B3 }
    }
}
