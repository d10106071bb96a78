import Foundation

/// Everything `--replay` names, read and checked whole before the replay starts, its ticks
/// merged in time order.
///
/// `--replay` takes files and folders, and may be given several times; a folder stands for its
/// `.csv` and `.gz` files, in name order. Each file is read by its own rules (its header, its
/// time format, its name as the symbol where it has no symbol column); ticks of one time keep
/// the order of the files, then of their rows.
public struct ReplayData: Sendable {
    /// The files read, in the order given.
    public let paths: [String]
    let rows: ReplayRows
    /// Each file as it was read: what was chosen for it (time format, wide series) and its counts, for the log.
    let files: [ReplayFile]

    /// Bad rows left out (`skipBad`), in all files, and the first of them.
    public let skipped: Int
    public let firstSkipped: String?

    public var ticks: Int { rows.count }
    public var symbols: [String] { rows.symbols }

    /// - Parameters:
    ///   - maxSymbols: the producer's symbol limit; files with more are refused.
    ///   - now: the wall clock, to tell a `t` in milliseconds from one in seconds.
    /// - Throws: ``ReplayFailure`` naming the file, and the line for a bad row.
    public init(paths given: [String], options: ReplayOptions, maxSymbols: Int, now: Double) throws(ReplayFailure) {
        let paths = try Self.files(given)
        var rows = ReplayRows()
        var files: [ReplayFile] = []
        var skipped = 0
        var firstSkipped: String?
        for path in paths {
            let file = try ReplayFile(path: path, options: options, now: now, into: &rows)
            files.append(file)
            skipped += file.skipped
            firstSkipped = firstSkipped ?? file.firstSkipped
        }
        guard rows.symbols.count <= maxSymbols else {
            let holder = paths.count == 1 ? paths[0] : "the \(paths.count) files"
            throw ReplayFailure(path: holder, line: nil, reason: "holds \(rows.symbols.count) symbols; the producer holds at most \(maxSymbols) (--max-symbols)")
        }
        rows.sortByTime()
        self.paths = paths
        self.rows = rows
        self.files = files
        self.skipped = skipped
        self.firstSkipped = firstSkipped
    }

    /// The files `given` names: each file as it is, each folder's `.csv` and `.gz` files in name order.
    static func files(_ given: [String]) throws(ReplayFailure) -> [String] {
        var paths: [String] = []
        for path in given {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
                paths.append(path)  // a missing file is reported when it is read
                continue
            }
            let names: [String]
            do {
                names = try FileManager.default.contentsOfDirectory(atPath: path)
            } catch {
                throw ReplayFailure(path: path, line: nil, reason: "is a folder that cannot be listed (\((error as NSError).localizedDescription))")
            }
            let files = names.filter { name in
                let lower = name.lowercased()
                return !name.hasPrefix(".") && (lower.hasSuffix(".csv") || lower.hasSuffix(".gz"))
            }.sorted()
            guard !files.isEmpty else { throw ReplayFailure(path: path, line: nil, reason: "is a folder with no .csv or .gz file") }
            paths += files.map { (path as NSString).appendingPathComponent($0) }
        }
        return paths
    }
}

/// Where a replayed file is wrong: `FILE:LINE: reason`, or `FILE: reason` for the file as a whole.
public struct ReplayFailure: Error, CustomStringConvertible {
    public let path: String
    public let line: Int?
    public let reason: String
    public var description: String { line.map { "\(path):\($0): \(reason)" } ?? "\(path): \(reason)" }
}
