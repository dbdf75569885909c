import Foundation
import GRDB
import StratesCore
import StratesLedger

/// The embedded ledger: SQLite in WAL mode through GRDB.
public final class SQLiteLedger: LedgerDatabase {
    let writer: any DatabaseWriter

    /// Opens (creating if needed) the database at `path` and migrates it.
    public init(path: String) throws {
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            // A new ledger gets 16 KB pages (a ledger created before keeps its own: SQLite sets
            // the page size when it writes a database's first page). A write-ahead log frame,
            // and the system call that writes it, is one page: a quarter of the frames of
            // SQLite's 4 KB pages for an import (BENCHMARKS.md has the timing), and every
            // index is a level shallower.
            // The cost: a request record dirties a 16 KB page of each index in the log, where
            // it dirtied 4 KB; the gateway writes its records 512 at a time at most.
            try db.execute(sql: "PRAGMA page_size = 16384")
            // WAL + NORMAL: a committed transaction survives a process crash; the journal
            // (not fsync per request) carries the in-flight guarantee.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            // Reports read pages through a memory map instead of one pread(2) per page (a
            // third of a workload report over a month of runs was those system calls).
            try db.execute(sql: "PRAGMA mmap_size = 268435456")
        }
        configuration.busyMode = .timeout(10)
        let pool = try DatabasePool(path: path, configuration: configuration)
        writer = pool
        try SQLiteMigrations.migrator.migrate(pool)
        try Self.dropStagingLeftByACrash(pool)
    }

    /// An in-memory database, for tests.
    public init(inMemory: Void = ()) throws {
        let queue = try DatabaseQueue()
        writer = queue
        try SQLiteMigrations.migrator.migrate(queue)
    }

    static func millis(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }
    static func date(_ millis: Int64) -> Date { Date(timeIntervalSince1970: Double(millis) / 1000) }
}

// MARK: - Requests

extension SQLiteLedger {
    /// Inserts a record, its columns in `RequestRecord.visitColumns`' order (the order
    /// `RecordBinding` binds them in).
    static let insertRequestSQL = """
        INSERT INTO requests (\(RequestRecord.columns.map(\.name.description).joined(separator: ", ")))
        VALUES (\(RequestRecord.columns.map { _ in "?" }.joined(separator: ", ")))
        ON CONFLICT (id) DO NOTHING
        """

    public func insert(_ records: [RequestRecord]) async throws {
        guard !records.isEmpty else { return }
        try await writer.write { db in
            let statement = try db.cachedStatement(sql: Self.insertRequestSQL)
            var inserted: [Int] = []
            var texts = RecordBinding.RowText()
            for (index, record) in records.enumerated() {
                try RecordBinding.run(statement, record, in: db, texts: &texts)
                if db.changesCount > 0 { inserted.append(index) }
            }
            try Rollups.fold(records: inserted.lazy.map { records[$0] }, db)
        }
    }

    public func request(id: String) async throws -> RequestRecord? {
        try await writer.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM requests WHERE id = ?", arguments: [id]).map(Self.record)
        }
    }

    public func requestCount() async throws -> Int {
        try await writer.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM requests") ?? 0 }
    }

    public func requests(organization: String, environment: Environment, from: Date, to: Date) async throws -> [RequestRecord] {
        try await writer.read { db in
            try Row.fetchAll(
                db,
                sql:
                    "SELECT * FROM requests WHERE environment = ? AND started_at >= ? AND started_at < ? AND organization = ? AND status != 'rejected' ORDER BY started_at",
                arguments: [environment.rawValue, Self.millis(from), Self.millis(to), organization]
            ).map(Self.record)
        }
    }

    public func requestIDs() async throws -> Set<String> {
        try await writer.read { db in Set(try String.fetchAll(db, sql: "SELECT id FROM requests")) }
    }

    static func record(_ row: Row) -> RequestRecord {
        var reader = RowReader(row: row)
        var record = RequestRecord.blank
        record.visitColumns(&reader)
        return record
    }

    /// Reads a record's columns from its row by name.
    struct RowReader: RecordColumnVisitor {
        let row: Row

        func text(_ column: RecordColumn, _ value: inout String?) {
            let stored: String? = row[column.name.description]
            value = stored == column.storedForNil?.description ? nil : stored
        }

        func integer(_ column: RecordColumn, _ value: inout Int64?) { value = row[column.name.description] }
        func flag(_ column: RecordColumn, _ value: inout Bool) { value = row[column.name.description] ?? false }
        func time(_ column: RecordColumn, _ value: inout Date?) { value = (row[column.name.description] as Int64?).map(date) }
    }

    public func usage(_ query: UsageQuery) async throws -> [UsageRow] {
        var window = UsageWindow(since: query.since, until: query.until)
        window.rawOnly = (query.groupBy + query.filters.keys).contains { UsageWindow.expression($0) == nil }
        let expression = { (dimension: UsageDimension) in window.rawOnly ? UsageWindow.rawExpression(dimension) : UsageWindow.expression(dimension)! }
        window.groups = query.groupBy.map(expression)
        window.filters = query.filters.sorted { $0.key.rawValue < $1.key.rawValue }.map {
            (window.rawOnly ? UsageWindow.rawExpression($0.key) : UsageWindow.filter($0.key)!, $0.value)
        }
        let (sql, statementArguments) = window.sql()
        let dimensions = query.groupBy
        return try await writer.read { db in
            try Row.fetchAll(db, sql: sql, arguments: statementArguments).compactMap { row in
                let requests: Int64 = row["requests"]
                if dimensions.isEmpty && requests == 0 { return nil }
                var group: [String: String] = [:]
                for (index, dimension) in dimensions.enumerated() {
                    group[dimension.rawValue] = (row["g\(index)"] as String?) ?? "(none)"
                }
                return UsageRow(
                    group: group, requests: requests,
                    usage: Usage(
                        input: row["input"], output: row["output"], cacheRead: row["cache_read"],
                        cacheWrite5m: row["cache_write_5m"], cacheWrite1h: row["cache_write_1h"], reasoning: row["reasoning"]
                    ),
                    cost: NanoUSD(row["cost"]), unknownCostRequests: row["unknown_cost"],
                    estimatedRequests: row["estimated"], failedRequests: row["failed"]
                )
            }
        }
    }
}
