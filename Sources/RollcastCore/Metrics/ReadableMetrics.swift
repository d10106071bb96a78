import Prometheus
import Synchronization

/// A Prometheus counter whose value this process can also read for its own status answer.
/// One call counts for both, so `/metrics` and `/api/status` cannot disagree.
public final class ReadableCounter: Sendable {
    private let exported: Prometheus.Counter
    private let count = Atomic<Int>(0)

    init(_ exported: Prometheus.Counter) {
        self.exported = exported
    }

    public func increment(by amount: Int = 1) {
        count.add(amount, ordering: .relaxed)
        exported.increment(by: Int64(amount))
    }

    public var value: Int { count.load(ordering: .relaxed) }
}

/// A Prometheus gauge of a count this process also reads and limits (clients, connections).
public final class ReadableGauge: Sendable {
    private let exported: Prometheus.Gauge
    private let count = Atomic<Int>(0)

    init(_ exported: Prometheus.Gauge) {
        self.exported = exported
    }

    public func increment() {
        count.add(1, ordering: .relaxed)
        exported.increment()
    }

    public func decrement() {
        count.subtract(1, ordering: .relaxed)
        exported.decrement()
    }

    /// Adds one unless the count has reached `limit`; returns whether it did.
    public func increment(below limit: Int) -> Bool {
        var current = count.load(ordering: .relaxed)
        while current < limit {
            let (exchanged, original) = count.compareExchange(expected: current, desired: current + 1, ordering: .relaxed)
            if exchanged {
                exported.increment()
                return true
            }
            current = original
        }
        return false
    }

    public var value: Int { count.load(ordering: .relaxed) }
}

/// Names follow Prometheus conventions: `rollcast_<process>_<what>[_<unit>]`, counters end in
/// `_total`, times are `_seconds`, sizes `_bytes`; every metric has help text.
public struct MetricNames: Sendable {
    /// `gateway` or `producer`.
    public let process: String

    public init(process: String) {
        self.process = process
    }

    public func descriptor(_ name: String, unit: String = "", help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "rollcast", subsystem: process, metricName: name, unitName: unit, helpText: help)
    }
}

extension PrometheusCollectorRegistry {
    /// A counter named `rollcast_<process>_<name>_total`.
    public func readableCounter(_ names: MetricNames, _ name: String, labels: [(String, String)] = [], help: String) -> ReadableCounter {
        ReadableCounter(makeCounter(descriptor: names.descriptor(name, unit: "total", help: help), labels: labels))
    }

    public func readableGauge(_ names: MetricNames, _ name: String, help: String) -> ReadableGauge {
        ReadableGauge(makeGauge(descriptor: names.descriptor(name, help: help), labels: []))
    }

    /// The registry's whole exposition text (Prometheus text format 0.0.4).
    public func exposition() -> [UInt8] {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(8_192)
        emit(into: &buffer)
        return buffer
    }
}

/// Histogram buckets for times from a millisecond to ten seconds.
public let latencyBuckets: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
