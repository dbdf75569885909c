import Foundation
import GRDB
import StratesCore
import StratesLedger

extension SQLiteLedger {
    static let importRequestSQL = insertRequestSQL.replacingOccurrences(
        of: "ON CONFLICT (id) DO NOTHING",
        with: """
            ON CONFLICT (id) DO UPDATE SET
                input_tokens = excluded.input_tokens, output_tokens = excluded.output_tokens, cache_read_tokens = excluded.cache_read_tokens,
                cache_write_5m_tokens = excluded.cache_write_5m_tokens, cache_write_1h_tokens = excluded.cache_write_1h_tokens,
                reasoning_tokens = excluded.reasoning_tokens, cost_nano = excluded.cost_nano, ended_at = excluded.ended_at
            WHERE (excluded.output_tokens, excluded.input_tokens + excluded.cache_read_tokens + excluded.cache_write_5m_tokens + excluded.cache_write_1h_tokens)
                > (requests.output_tokens, requests.input_tokens + requests.cache_read_tokens + requests.cache_write_5m_tokens + requests.cache_write_1h_tokens)
            """)

    /// The import's connection keeps the indexes it writes to in memory (SQLite's default
    /// 2 MB cache made every index insert of a large import a page read). And it checkpoints
    /// once per 128 MB of log, not after each commit past 1,000 pages: an import's transaction
    /// dirties most pages of the id index (its keys are hashes), and a checkpoint copies only
    /// each page's latest version to the database. SQLite alone copying 1M imported rows:
    /// 11.9-12.5 s with the default, 10.0-10.3 s so. Only imports (the CLI's own connection)
    /// set them. A bulk import's transactions take a smaller cache (`cacheMB`): they write
    /// no index page by page.
    static func useImportSettings(_ db: Database, cacheMB: Int = 256) throws {
        try db.execute(sql: "PRAGMA cache_size = -\(cacheMB * 1024)")
        let pageSize = try Int.fetchOne(db, sql: "PRAGMA page_size") ?? 4096
        try db.execute(sql: "PRAGMA wal_autocheckpoint = \((128 << 20) / pageSize)")
    }

    public func importRecords(_ records: [RequestRecord]) async throws -> ImportResult {
        guard !records.isEmpty else { return ImportResult() }
        return try await writer.write { db in
            try Self.useImportSettings(db)
            // New records are inserted and folded into the rollups from memory. Those already
            // in the ledger are looked up one by one (a first import finds none, so pays
            // nothing); only those with more complete usage now are taken out of the rollups,
            // updated and put back.
            let insert = try db.cachedStatement(sql: Self.insertRequestSQL)
            let held = try db.cachedStatement(
                sql: """
                    SELECT output_tokens, input_tokens + cache_read_tokens + cache_write_5m_tokens + cache_write_1h_tokens FROM requests WHERE id = ?
                    """)
            var added: [Int] = []
            var changing: [Int] = []
            var texts = RecordBinding.RowText()
            for (index, record) in records.enumerated() {
                try RecordBinding.run(insert, record, in: db, texts: &texts)
                if db.changesCount > 0 {
                    added.append(index)
                } else if let row = try Row.fetchOne(held, arguments: [record.id]),
                    (record.usage.output, record.usage.totalInput) > (row[0] as Int64, row[1] as Int64)
                {
                    changing.append(index)
                }
            }
            try Rollups.fold(records: added.lazy.map { records[$0] }, db)
            let ids = Array(Set(changing.map { records[$0].id }))
            try Rollups.fold(ids: ids, sign: -1, db)
            let update = try db.cachedStatement(sql: Self.importRequestSQL)
            var updated: [Int] = []
            for index in changing {
                try RecordBinding.run(update, records[index], in: db, texts: &texts)
                if db.changesCount > 0 { updated.append(index) }
            }
            try Rollups.fold(ids: ids, sign: 1, db)
            return ImportResult(added: added, updated: updated)
        }
    }

    public func saveRunContexts(_ contexts: [RunContext]) async throws {
        try await writer.write { db in
            let statement = try db.cachedStatement(
                sql: """
                    INSERT INTO run_context (run, source, cwd, git_branch, first_at, last_at) VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT (run) DO UPDATE SET cwd = COALESCE(excluded.cwd, cwd), git_branch = COALESCE(excluded.git_branch, git_branch),
                        first_at = MIN(first_at, excluded.first_at), last_at = MAX(last_at, excluded.last_at)
                    """)
            for context in contexts {
                try statement.execute(arguments: [
                    context.run, context.source, context.cwd, context.gitBranch, Self.millis(context.firstAt), Self.millis(context.lastAt),
                ])
            }
        }
    }

    public func runContext(_ run: String) async throws -> RunContext? {
        try await writer.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM run_context WHERE run = ?", arguments: [run]).map(Self.runContext)
        }
    }

    public func runContexts(branch: String) async throws -> [RunContext] {
        try await writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM run_context WHERE git_branch = ? ORDER BY first_at", arguments: [branch]).map(Self.runContext)
        }
    }

    public func days(withCallsTo provider: String, from: Date, to: Date, notFrom source: String) async throws -> Set<Date> {
        try await writer.read { db in
            let days = try Int64.fetchAll(
                db,
                sql: """
                    SELECT DISTINCT started_at / 86400000 FROM requests
                    WHERE started_at >= ? AND started_at < ? AND provider = ? AND (source IS NULL OR source != ?)
                    """, arguments: [Self.millis(from), Self.millis(to), provider, source])
            return Set(days.map { Date(timeIntervalSince1970: Double($0) * 86_400) })
        }
    }

    public func importedFiles(source: String) async throws -> [String: ImportedFile] {
        try await writer.read { db in
            var files: [String: ImportedFile] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT path, size, modified_ns FROM import_files WHERE source = ?", arguments: [source]) {
                let file = ImportedFile(path: row[0], size: row[1], modifiedNanos: row[2])
                files[file.path] = file
            }
            return files
        }
    }

    public func saveImportedFiles(_ files: [ImportedFile], source: String) async throws {
        try await writer.write { db in
            let statement = try db.cachedStatement(
                sql: """
                    INSERT INTO import_files (source, path, size, modified_ns, imported_at) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (source, path) DO UPDATE SET size = excluded.size, modified_ns = excluded.modified_ns, imported_at = excluded.imported_at
                    """)
            let now = Self.millis(Date())
            for file in files {
                try statement.execute(arguments: [source, file.path, file.size, file.modifiedNanos, now])
            }
        }
    }

    static func runContext(_ row: Row) -> RunContext {
        RunContext(
            run: row["run"], source: row["source"], cwd: row["cwd"], gitBranch: row["git_branch"], firstAt: date(row["first_at"]), lastAt: date(row["last_at"]))
    }
}
