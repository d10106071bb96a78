/// One observation of a series: a price (or any value) at a moment, with optional volume.
public struct Tick: Equatable, Sendable {
    /// Unix time in seconds; may be fractional.
    public var time: Double
    public var price: Double
    /// Traded volume; 0 when the source reports none.
    public var volume: Double

    public init(time: Double, price: Double, volume: Double = 0) {
        self.time = time
        self.price = price
        self.volume = volume
    }
}
