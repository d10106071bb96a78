import ArgumentParser
import RollcastCore

@main
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollcast-bench",
        abstract: "Benchmarks behind docs/performance.md. Build with -c release before trusting a figure.",
        subcommands: [WindowsBenchmark.self, MergeBenchmark.self, BrokerBenchmark.self, ScaleBenchmark.self, LoadGenerator.self, ZeroMQHopBenchmark.self, FanoutBenchmark.self, IngestBenchmark.self, RestartBenchmark.self, ReplayBenchmark.self, FloorRelay.self]
    )
}

/// Wall-clock time of `body`, in seconds.
func measure(_ body: () throws -> Void) rethrows -> Double {
    try ContinuousClock().measure(body).seconds
}

/// The median of `runs` timings of `body`, in seconds.
func median(runs: Int, _ body: () throws -> Void) rethrows -> Double {
    var times: [Double] = []
    for _ in 0..<runs { times.append(try measure(body)) }
    return times.sorted()[runs / 2]
}

/// A line on stderr, so progress never mixes with the table on stdout.
func progress(_ line: String) {
    FileHandle.standardError.write(Data("\(line)\n".utf8))
}

func format(_ value: Double, _ digits: Int = 1) -> String {
    String(format: "%.\(digits)f", value)
}

import Foundation
