import Foundation
import RollcastCore
import Testing

/// Files as public data sites publish them (month names, wide tables, a date and a time column,
/// gzip, several at once), replayed by a real producer at `--speed max`, against windows the
/// test computes from the rows it wrote, with Foundation's calendar.
@Suite("Replay of files as they come", .serialized, .timeLimit(.minutes(3)))
struct ReplayShapesTests {
    /// One tick of the model: its series, Unix seconds and value.
    struct Tick: Equatable {
        let symbol: String
        let t: Double
        let value: Double
    }

    static func seconds(_ year: Int, _ month: Int, _ day: Int, _ hour: Int = 0, _ minute: Int = 0, zone: String = "UTC") -> Double {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: zone)!
        return calendar.date(from: DateComponents(year: year, month: month, day: day, hour: hour, minute: minute))!.timeIntervalSince1970
    }

    /// Monthly prices of three symbols, 2000–2009, dated as `Jan 1 2000` (symbol,date,price).
    static func stocks() -> (text: String, ticks: [Tick]) {
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        var text = "symbol,date,price\n"
        var ticks: [Tick] = []
        for (number, symbol) in ["MSFT", "AMZN", "IBM"].enumerated() {
            for month in 0..<120 {
                let price = Double(number * 50) + Double(month) * 0.25 + 10.5
                text += "\(symbol),\(months[month % 12]) 1 \(2000 + month / 12),\(price)\n"
                ticks.append(Tick(symbol: symbol, t: seconds(2000 + month / 12, month % 12 + 1, 1), value: price))
            }
        }
        return (text, ticks)
    }

    /// Daily weather of 400 days from 2012-01-01, dated `2012/01/02`: four numeric columns (one
    /// with gaps) and a text column.
    static func weather() -> (text: String, ticks: [Tick]) {
        var text = "date,precipitation,temp_max,temp_min,wind,weather\n"
        var ticks: [Tick] = []
        for day in 0..<400 {
            let t = seconds(2012, 1, 1) + Double(day) * 86_400
            let date = Date(timeIntervalSince1970: t)
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = TimeZone(identifier: "UTC")!
            let parts = calendar.dateComponents([.year, .month, .day], from: date)
            let values = [Double(day % 13) / 2, 5 + Double(day % 20), Double(day % 9) - 3, Double(day % 7) + 0.5]
            let gap = day % 10 == 3  // temp_max left empty
            text += String(format: "%04d/%02d/%02d", parts.year!, parts.month!, parts.day!)
            for (index, value) in values.enumerated() { text += index == 1 && gap ? "," : ",\(value)" }
            text += ",\(["rain", "sun", "drizzle"][day % 3])\n"
            for (index, name) in ["precipitation", "temp_max", "temp_min", "wind"].enumerated() where !(index == 1 && gap) {
                ticks.append(Tick(symbol: name, t: t, value: values[index]))
            }
        }
        return (text, ticks)
    }

    /// Writes `files` into a new folder; returns it.
    static func folder(_ files: [(String, Data)]) throws -> String {
        let directory = "/tmp/rcs-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        for (name, bytes) in files { try bytes.write(to: URL(fileURLWithPath: "\(directory)/\(name)")) }
        return directory
    }

    static func gzip(_ path: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/gzip")
        process.arguments = ["-k", path]
        try process.run()
        process.waitUntilExit()
    }

    /// The charts once a replay has finished, and the producer's status.
    static func replayed(_ arguments: [String]) async throws -> (ProducerStatus, [ChartObject]) {
        try await RollcastStack.with(producerArguments: arguments + ["--speed", "max", "--interval", "0.3"]) { stack in
            try await stack.waitUntilReady()
            let status = try await poll("the replay to finish", within: .seconds(20)) { () -> ProducerStatus? in
                guard let status = try await stack.producerStatus(), status.replay?.finished == true else { return nil }
                return status
            }
            let charts = try await poll("a snapshot after the replay", within: .seconds(15)) { () -> [ChartObject]? in
                let charts = try await stack.window()
                return charts.first.map { $0.seq > status.seq } == true ? charts : nil
            }
            return (status, charts)
        }
    }

    /// Checks each chart against the model's ticks of its symbol at or after `from`.
    static func expect(_ charts: [ChartObject], equal model: [Tick], from: Double = -.infinity) {
        let symbols = Set(model.map(\.symbol)).sorted()
        #expect(charts.map(\.symbol) == symbols)
        for chart in charts {
            let expected = model.filter { $0.symbol == chart.symbol && $0.t >= from }.sorted { $0.t < $1.t }
            #expect(chart.t == expected.map(\.t), "\(chart.symbol): times")
            #expect(chart.price == expected.map(\.value), "\(chart.symbol): values")
        }
    }

    @Test("a gzip file of month-name dates and a wide table of slash dates, merged; the gzip file equals its plain twin")
    func monthNamesWideAndGzip() async throws {
        let stocks = Self.stocks()
        let weather = Self.weather()
        let directory = try Self.folder([("stocks.csv", Data(stocks.text.utf8)), ("seattle-weather.csv", Data(weather.text.utf8))])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Self.gzip("\(directory)/stocks.csv")
        let (status, charts) = try await Self.replayed(["--replay", "\(directory)/stocks.csv.gz", "--replay", "\(directory)/seattle-weather.csv", "--window", "30y"])
        #expect(status.replay?.files == ["\(directory)/stocks.csv.gz", "\(directory)/seattle-weather.csv"])
        #expect(status.replay?.rows == stocks.ticks.count + weather.ticks.count)
        #expect(status.clockTime == weather.ticks.map(\.t).max(), "the clock stops at the last row of either file")
        Self.expect(charts, equal: stocks.ticks + weather.ticks)
        let (_, plain) = try await Self.replayed(["--replay", "\(directory)/stocks.csv", "--window", "30y"])
        #expect(plain.map(\.t) == charts.filter { ["AMZN", "IBM", "MSFT"].contains($0.symbol) }.map(\.t))
        #expect(plain.map(\.price) == charts.filter { ["AMZN", "IBM", "MSFT"].contains($0.symbol) }.map(\.price))
    }

    @Test("a date and a time column in New York time, across the night clocks went forward; the window trims on the file's clock")
    func dateTimeColumnsInAZone() async throws {
        // Every half hour of local time from 13 March 2021 to 15 March 2021; 02:00 and 02:30 on the 14th never happened.
        var text = "date,time,symbol,price,volume\n"
        var ticks: [Tick] = []
        for day in 13...14 {
            for slot in 0..<48 {
                let (hour, minute) = (slot / 2, slot % 2 * 30)
                if day == 14, hour == 2 { continue }
                let price = Double(day * 100 + slot)
                text += String(format: "2021.03.%02d,%02d:%02d:00,NYSE:X,%.1f,%d\n", day, hour, minute, price, slot)
                ticks.append(Tick(symbol: "NYSE:X", t: Self.seconds(2021, 3, day, hour, minute, zone: "America/New_York"), value: price))
            }
        }
        let directory = try Self.folder([("trades.csv", Data(text.utf8))])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (status, charts) = try await Self.replayed(["--replay", "\(directory)/trades.csv", "--time-zone", "America/New_York", "--window", "1d"])
        let last = ticks.map(\.t).max()!
        #expect(status.clockTime == last)
        Self.expect(charts, equal: ticks, from: last - 86_400)
        // One day back from 23:30 EDT on the 14th is 22:30 EST on the 13th: three half hours of the 13th, and
        // the 46 of the 14th (a day of 23 hours).
        #expect(charts.first?.t.count == 3 + 46, "\(charts.first?.t.count ?? 0) points")
    }

    @Test("RFC 2822, day-first and Unix-millisecond files in one replay; a --time-format file in another")
    func moreShapes() async throws {
        let start = Self.seconds(2000, 1, 1)
        var rfc = "date,close\n"
        var dayFirst = "t,symbol,price\n"
        var milliseconds = "t,symbol,price\n"
        var compact = "date,price\n"
        var ticks: [Tick] = []
        var compactTicks: [Tick] = []
        let weekdays = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]  // 1 Jan 2000 was a Saturday: day 0 is index 2
        for day in 0..<40 {
            let t = start + Double(day) * 86_400
            let parts = Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "UTC")!, from: Date(timeIntervalSince1970: t))
            let month = ["Jan", "Feb"][parts.month! - 1]
            // 09:30 in New York (-0500) is 14:30 UTC.
            rfc += "\"\(weekdays[(day + 2) % 7]), \(String(format: "%02d", parts.day!)) \(month) 2000 09:30:00 -0500\",\(Double(day) + 0.5)\n"
            ticks.append(Tick(symbol: "RFC", t: t + 14.5 * 3_600, value: Double(day) + 0.5))
            dayFirst += String(format: "%02d/%02d/2000 12:00,DAY,%d\n", parts.day!, parts.month!, day)
            ticks.append(Tick(symbol: "DAY", t: t + 12 * 3_600, value: Double(day)))
            milliseconds += "\(Int64(t * 1_000) + 250),MS,\(day * 2)\n"
            ticks.append(Tick(symbol: "MS", t: t + 0.25, value: Double(day * 2)))
            compact += String(format: "2000%02d%02d,%d\n", parts.month!, parts.day!, day * 3)
            compactTicks.append(Tick(symbol: "COMPACT", t: t, value: Double(day * 3)))
        }
        let directory = try Self.folder([
            ("RFC.csv", Data(rfc.utf8)), ("day-first.csv", Data(dayFirst.utf8)), ("ms.csv", Data(milliseconds.utf8)), ("COMPACT.csv", Data(compact.utf8)),
        ])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (_, charts) = try await Self.replayed(
            ["--replay", "\(directory)/RFC.csv", "--replay", "\(directory)/day-first.csv", "--replay", "\(directory)/ms.csv", "--time-unit", "ms", "--window", "1y"]
        )
        Self.expect(charts, equal: ticks)
        let (_, patterned) = try await Self.replayed(["--replay", "\(directory)/COMPACT.csv", "--time-format", "%Y%m%d", "--window", "1y"])
        Self.expect(patterned, equal: compactTicks)
    }

    @Test("files the replay refuses stop the producer with one line naming the file, the line and the flag to use", arguments: [
        ("t,symbol,price\n01/02/2010,A,1\n03/04/2010,A,2\n", [], "FILE: t '01/02/2010' (line 2) could be day/month/year or month/day/year, and every row reads both ways: give --time-format '%d/%m/%Y' or --time-format '%m/%d/%Y'"),
        ("date,temp_max,temp_min\n2012/01/01,12.8,5\n2012/01/02,x,2.8\n", [], "FILE:3: temp_max 'x' is not a number"),
        ("t,price\n1262304000000,1\n", [], "FILE:2: t 1262304000000 looks like milliseconds; give --time-unit ms to read numeric times in milliseconds"),
        ("t,price\n2010-01-01,1\n", ["--time-format", "%d/%m/%Y"], "FILE:2: t '2010-01-01' does not match --time-format '%d/%m/%Y'"),
        ("date,a\n2010-01-01,1\n", ["--columns", "b"], "FILE:1: no column 'b' (--columns); the header has 'date', 'a'"),
    ])
    func refusedFiles(text: String, arguments: [String], message: String) async throws {
        let directory = try Self.folder([("A.csv", Data(text.utf8))])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = "\(directory)/A.csv"
        let producer = try RollcastProcess(
            executable: "rollcast-producer", arguments: ["--run-dir", directory, "--replay", file] + arguments, logPath: "\(directory)/log"
        )
        #expect(await producer.waitForExit(within: .seconds(10)))
        #expect(producer.process.terminationStatus != 0)
        #expect(producer.log.split(separator: "\n").last.map(String.init) == "Error: " + message.replacingOccurrences(of: "FILE", with: file), "\(producer.log)")
    }

    @Test("flags that go with --replay refuse bad values with one line", arguments: [
        (["--time-zone", "Mars/Olympus"], "--time-zone 'Mars/Olympus' is not an IANA time zone name such as UTC, Europe/London or America/New_York"),
        (["--time-unit", "h"], "--time-unit must be s, ms, us or ns, not 'h'"),
        (["--time-format", "%Y %Q"], "--time-format '%Y %Q': %Q is not a directive the replay reads"),
        (["--window", "101y"], "--window must be above 0 and at most 100y (3155760000 seconds)"),
        (["--window", "10 years"], "--window must be seconds or a number with a unit (s, m, h, d, w, y), such as 300, 15m or 10y, not '10 years'"),
        (["--symbol", "A B"], "--symbol: symbol 'A B' may hold only letters, digits and . _ - : /"),
    ])
    func badFlags(arguments: [String], message: String) async throws {
        let directory = try Self.folder([("A.csv", Data("t,price\n1,1\n".utf8))])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let producer = try RollcastProcess(
            executable: "rollcast-producer", arguments: ["--run-dir", directory, "--replay", "\(directory)/A.csv"] + arguments, logPath: "\(directory)/log"
        )
        #expect(await producer.waitForExit(within: .seconds(10)))
        #expect(producer.process.terminationStatus != 0)
        #expect(producer.log.contains(message), "\(producer.log)")
    }
}
