extension Duration {
    /// Whole milliseconds, for logs and JSON.
    public var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}

extension Duration {
    /// The duration in seconds, for rates and histograms.
    public var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
