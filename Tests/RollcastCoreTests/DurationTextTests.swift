import Testing

@testable import RollcastCore

@Suite("Durations in flags")
struct DurationTextTests {
    @Test("seconds, or a number with a unit", arguments: [
        ("300", 300.0), ("0.5", 0.5), ("45s", 45), ("15m", 900), ("36h", 129_600), ("7d", 604_800), ("2w", 1_209_600),
        ("10y", 315_576_000), ("100Y", 3_155_760_000), (" 2 h ", 7_200),
    ])
    func read(text: String, seconds: Double) {
        #expect(DurationText.seconds(text) == seconds)
    }

    @Test("anything else is refused", arguments: ["10x", "y", "", "ten", "5 mins", "inf", "nand"])
    func refused(text: String) {
        #expect(DurationText.seconds(text) == nil)
    }
}
