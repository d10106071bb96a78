import Foundation

/// The checks every tick passes on its way in, whichever way it came (HTTP, the ingest
/// socket, a replayed file). A batch with one tick that breaks them is refused whole.
public struct TickRules: Sendable {
    /// Seconds a tick may lie ahead of the producer's clock.
    public var maxFutureSkew: Double = 5

    public init(maxFutureSkew: Double = 5) {
        self.maxFutureSkew = maxFutureSkew
    }

    /// Why a tick breaks a rule, starting with the field at fault (`t …`, `price …`), or
    /// `nil` when it keeps them all. A tick older than the window is not an error here: the
    /// window drops it and counts it as too old.
    public func violation(t: Double, price: Double, volume: Double, now: Double) -> String? {
        guard t.isFinite, t > 0 else { return "t must be Unix seconds, a positive number" }
        if t - now > maxFutureSkew { return future(t, now: now) }
        return violation(price: price, volume: volume)
    }

    /// The rules of a tick's price and volume alone: a replayed file's times may lie before 1970.
    public func violation(price: Double, volume: Double) -> String? {
        guard price.isFinite else { return "price must be a finite number" }
        guard volume.isFinite, volume >= 0 else { return "volume must be a number of 0 or more" }
        return nil
    }

    /// `t 1796131255000 is 1.8e12 s in the future; t is Unix seconds, this looks like milliseconds`.
    private func future(_ t: Double, now: Double) -> String {
        var reason = "t \(JSONNumberWriter.string(t)) is \(Self.seconds(t - now)) s in the future"
        if let unit = Self.likelyUnit(of: t, now: now) {
            reason += "; t is Unix seconds, this looks like \(unit)"
        } else {
            reason += "; at most \(JSONNumberWriter.string(maxFutureSkew)) s ahead of the producer's clock is accepted (--max-future-skew)"
        }
        return reason
    }

    /// The unit a too-large `t` was probably written in: the one that makes it a date of the
    /// last 25 years or the coming one (so that year 9999 in seconds is not taken for milliseconds).
    static func likelyUnit(of t: Double, now: Double) -> String? {
        let year = 365.25 * 86_400
        for (divisor, unit) in [(1e3, "milliseconds"), (1e6, "microseconds"), (1e9, "nanoseconds")] {
            let seconds = t / divisor
            if seconds > now - 25 * year, seconds < now + year { return unit }
        }
        return nil
    }

    /// A duration short enough to read: `4.2`, `380`, `1.8e12`.
    static func seconds(_ value: Double) -> String {
        if value < 10 { return String(format: "%.1f", value) }
        if value < 100_000 { return String(format: "%.0f", value) }
        var exponent = Int(Foundation.log10(value).rounded(.down))
        var mantissa = (value / Foundation.pow(10, Double(exponent)) * 10).rounded() / 10
        if mantissa >= 10 {
            mantissa /= 10
            exponent += 1
        }
        return String(format: "%.1fe%d", mantissa, exponent)
    }
}
