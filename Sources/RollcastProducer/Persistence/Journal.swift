import Foundation
import GRDB
import RollcastCore
import Synchronization

/// The durable record of every tick the producer acknowledged, in a SQLite file (GRDB, WAL
/// mode, `synchronous = FULL`: a commit is on disk when it returns).
///
/// Each applied batch is one row of ``TickChunk`` (its ticks by symbol) written in the same
/// transaction as its `batch_id`, in the order batches were applied, before the batch is
/// acknowledged. A restart replays the rows in order through the same window rules, so the
/// windows come back as they were. Rows whose newest tick has left the window are deleted;
/// when merges or the per-window cap make the rows hold more than twice what the windows
/// hold, ``compact(_:through:)`` rewrites them as the windows are now.
final class Journal: Sendable {
    let path: String
    private let database: DatabaseQueue
    private let state: Mutex<State>

    struct State {
        /// The id of the newest chunk row; compaction replaces the rows up to it.
        var lastChunkID: Int64 = 0
        /// Ticks in all chunk rows.
        var ticks = 0
        /// Symbols with ticks in the journal.
        var symbols: Set<String> = []
    }

    /// A data directory or database that cannot be used: the producer stops with this line.
    struct Failure: Error, CustomStringConvertible {
        let path: String
        let reason: String
        var description: String { "database \(path) \(reason)" }
    }

    static let fileName = "rollcast.sqlite"
    /// The write-ahead log is cut back to this after each checkpoint.
    static let walSizeLimit = 16 << 20

    /// Opens (or creates) the journal in `directory`, made private (0700) if new.
    /// - Throws: ``Failure`` naming the file when it cannot be opened or is not a Rollcast journal.
    init(directory: String) throws {
        path = (directory as NSString).appendingPathComponent(Self.fileName)
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw Failure(path: path, reason: "cannot be created: the folder \(directory) cannot be made (\(error.localizedDescription))")
        }
        var configuration = Configuration()
        configuration.journalMode = .wal
        configuration.label = "rollcast-journal"
        configuration.prepareDatabase { db in
            // Durable at commit, not merely at the next checkpoint: acknowledged means on disk.
            try db.execute(sql: "PRAGMA synchronous = FULL")
            // Space freed by pruning goes back to the file system (takes effect in a new file,
            // before its first table), and the write-ahead log shrinks back after a checkpoint.
            try db.execute(sql: "PRAGMA auto_vacuum = INCREMENTAL")
            try db.execute(sql: "PRAGMA journal_size_limit = \(Self.walSizeLimit)")
        }
        do {
            database = try DatabaseQueue(path: path, configuration: configuration)
            try Self.migrator.migrate(database)
        } catch let error as DatabaseError {
            throw Failure(path: path, reason: "cannot be used: \(error.message ?? "\(error.resultCode)")")
        } catch {
            throw Failure(path: path, reason: "cannot be used: \(error)")
        }
        state = Mutex(State())
    }

    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.create(table: "chunk") { table in
                // Rows are replayed in id order: the order batches were applied.
                table.primaryKey("id", .integer)
                table.column("newest_t", .double).notNull()
                table.column("tick_count", .integer).notNull()
                table.column("ticks", .blob).notNull()
            }
            try db.create(index: "chunk_newest_t", on: "chunk", columns: ["newest_t"])
            try db.create(table: "batch") { table in
                table.primaryKey("id", .text)
                table.column("applied_at", .double).notNull()
                table.column("appended", .integer).notNull()
                table.column("merged", .integer).notNull()
                table.column("inserted", .integer).notNull()
                table.column("too_old", .integer).notNull()
            }
            try db.create(index: "batch_applied_at", on: "batch", columns: ["applied_at"])
        }
        return migrator
    }

    var counters: State { state.withLock { $0 } }

    // MARK: Writing

    /// Writes an applied batch and its id in one transaction; returns once it is on disk.
    /// Call in the order batches are applied (the window store calls it under its lock).
    func append(_ chunk: TickChunk, batchID: String?, result: IngestResult, appliedAt: Double) throws {
        try database.write { db in
            try db.cachedStatement(sql: "INSERT INTO chunk (newest_t, tick_count, ticks) VALUES (?, ?, ?)")
                .execute(arguments: [chunk.newestTime, chunk.tickCount, chunk.encoded()])
            let id = db.lastInsertedRowID
            if let batchID {
                try db.cachedStatement(sql: "INSERT OR REPLACE INTO batch (id, applied_at, appended, merged, inserted, too_old) VALUES (?, ?, ?, ?, ?, ?)")
                    .execute(arguments: [batchID, appliedAt, result.appended, result.merged, result.inserted, result.tooOld])
            }
            state.withLock { state in
                state.lastChunkID = id
                state.ticks += chunk.tickCount
                for group in chunk.groups { state.symbols.insert(group.symbol) }
            }
        }
    }

    // MARK: Reading back

    struct Restored {
        var chunks = 0
        var ticks = 0
        var batches: [BatchLedger.Entry] = []
    }

    /// Reads every chunk back, oldest first, and hands `apply` each symbol's ticks in the
    /// order they were applied; returns the batch ids applied since `since`.
    ///
    /// One list per symbol, applied once at the end: the windows come out as if each chunk had
    /// been applied in turn (a window keeps the newest of what it was given, merged in order),
    /// without a dictionary lookup and a window pass per chunk and symbol.
    /// - Throws: ``Failure`` naming the file when a row cannot be read.
    func restore(batchIDsSince since: Double, apply: ([String: [Tick]]) -> Void) throws -> Restored {
        do {
            return try database.read { db in
                var restored = Restored()
                var bySymbol: [String: [Tick]] = [:]
                var lastID: Int64 = 0
                let rows = try Row.fetchCursor(db, sql: "SELECT id, ticks FROM chunk ORDER BY id")
                while let row = try rows.next() {
                    let id: Int64 = row[0]
                    try row.withUnsafeData(atIndex: 1) { data in
                        guard let data else { throw Failure(path: path, reason: "is damaged: chunk \(id) has no ticks") }
                        do {
                            try data.withUnsafeBytes { bytes in
                                try TickChunk.visit(bytes) { symbol, ticks in
                                    bySymbol[symbol, default: []].append(contentsOf: ticks)
                                    restored.ticks += ticks.count
                                }
                            }
                        } catch {
                            throw Failure(path: path, reason: "is damaged: chunk \(id) cannot be read")
                        }
                    }
                    restored.chunks += 1
                    lastID = id
                }
                apply(bySymbol)
                let symbols = Set(bySymbol.keys)
                restored.batches = try Row.fetchAll(
                    db, sql: "SELECT id, applied_at, appended, merged, inserted, too_old FROM batch WHERE applied_at >= ? ORDER BY applied_at",
                    arguments: [since]
                ).map { row in
                    BatchLedger.Entry(
                        id: row[0], appliedAt: row[1],
                        result: IngestResult(appended: row[2], merged: row[3], inserted: row[4], tooOld: row[5], batchID: row[0])
                    )
                }
                state.withLock { state in
                    state.lastChunkID = lastID
                    state.ticks = restored.ticks
                    state.symbols = symbols
                }
                return restored
            }
        } catch let failure as Failure {
            throw failure
        } catch let error as DatabaseError {
            throw Failure(path: path, reason: "cannot be read: \(error.message ?? "\(error.resultCode)")")
        }
    }

    // MARK: Keeping it bounded

    /// Deletes chunks whose newest tick is older than `cutoff` (out of every window) and batch
    /// ids older than `batchCutoff` or past the ledger's capacity.
    func prune(chunksBefore cutoff: Double, batchIDsBefore batchCutoff: Double, keepingSymbols symbols: Set<String>) throws {
        try database.write { db in
            try db.execute(sql: "DELETE FROM chunk WHERE newest_t < ?", arguments: [cutoff])
            try db.execute(sql: "DELETE FROM batch WHERE applied_at < ?", arguments: [batchCutoff])
            try db.execute(
                sql: "DELETE FROM batch WHERE id IN (SELECT id FROM batch ORDER BY applied_at DESC LIMIT -1 OFFSET ?)",
                arguments: [BatchLedger.capacity]
            )
            let ticks = try Int.fetchOne(db, sql: "SELECT COALESCE(SUM(tick_count), 0) FROM chunk") ?? 0
            state.withLock { state in
                state.ticks = ticks
                state.symbols.formIntersection(symbols)
            }
        }
    }

    /// Replaces every chunk up to id `lastID` with the windows as they were when that chunk was
    /// the newest. Chunks written since keep their place after them.
    func compact(_ windows: [(symbol: String, ticks: [Tick])], through lastID: Int64) throws {
        // Up to about a million ticks (24 MB) per row.
        var rows: [TickChunk] = [TickChunk(groups: [])]
        for window in windows where !window.ticks.isEmpty {
            if rows[rows.count - 1].tickCount + window.ticks.count > 1_000_000, rows[rows.count - 1].tickCount > 0 {
                rows.append(TickChunk(groups: []))
            }
            rows[rows.count - 1].groups.append(window)
        }
        rows.removeAll { $0.groups.isEmpty }
        try database.write { db in
            try db.execute(sql: "DELETE FROM chunk WHERE id <= ?", arguments: [lastID])
            // The ids just freed keep the rows before every chunk written since.
            for (offset, row) in rows.enumerated() {
                try db.execute(
                    sql: "INSERT INTO chunk (id, newest_t, tick_count, ticks) VALUES (?, ?, ?, ?)",
                    arguments: [lastID - Int64(offset), row.newestTime, row.tickCount, row.encoded()]
                )
            }
            let ticks = try Int.fetchOne(db, sql: "SELECT COALESCE(SUM(tick_count), 0) FROM chunk") ?? 0
            state.withLock { $0.ticks = ticks }
        }
    }

    /// Gives pages freed by pruning and compaction back to the file system and empties the
    /// write-ahead log into the database, so the files shrink with the windows.
    func releaseSpace() throws {
        try database.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA incremental_vacuum")
            _ = try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(TRUNCATE)")
        }
    }

    /// Bytes on disk: the database and its write-ahead log.
    var sizeOnDisk: Int {
        [path, path + "-wal"].reduce(0) { total, file in
            total + ((try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0)
        }
    }
}
