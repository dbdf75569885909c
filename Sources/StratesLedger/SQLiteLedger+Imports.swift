import Foundation
import GRDB
import StratesCore

/// Where a run happened, as an import found it: the working directory and git branch, and
/// when the run started and last called a model. Output mapping matches runs to commits by it.
public struct RunContext: Sendable, Equatable {
    public var run: String
    public var source: String
    public var cwd: String?
    public var gitBranch: String?
    public var firstAt: Date
    public var lastAt: Date

    public init(run: String, source: String, cwd: String?, gitBranch: String?, firstAt: Date, lastAt: Date) {
        self.run = run
        self.source = source
        self.cwd = cwd
        self.gitBranch = gitBranch
        self.firstAt = firstAt
        self.lastAt = lastAt
    }
}

/// Records imported from outside the gateway (agent transcripts, other proxies' logs).
public protocol ImportStore: Sendable {
    /// Adds records by id. One already present is updated when the new one has more usage
    /// (a transcript read again after its session went on); otherwise left alone.
    func importRecords(_ records: [RequestRecord]) async throws -> (added: Int, updated: Int)
    func saveRunContexts(_ contexts: [RunContext]) async throws
    func runContext(_ run: String) async throws -> RunContext?
    /// Runs seen on `branch`, for matching commits that name no run.
    func runContexts(branch: String) async throws -> [RunContext]
}

extension SQLiteLedger {
    static let importRequestSQL = insertRequestSQL.replacingOccurrences(of: "ON CONFLICT (id) DO NOTHING", with: """
        ON CONFLICT (id) DO UPDATE SET
            input_tokens = excluded.input_tokens, output_tokens = excluded.output_tokens, cache_read_tokens = excluded.cache_read_tokens,
            cache_write_5m_tokens = excluded.cache_write_5m_tokens, cache_write_1h_tokens = excluded.cache_write_1h_tokens,
            reasoning_tokens = excluded.reasoning_tokens, cost_nano = excluded.cost_nano, ended_at = excluded.ended_at
        WHERE (excluded.output_tokens, excluded.input_tokens + excluded.cache_read_tokens + excluded.cache_write_5m_tokens + excluded.cache_write_1h_tokens)
            > (requests.output_tokens, requests.input_tokens + requests.cache_read_tokens + requests.cache_write_5m_tokens + requests.cache_write_1h_tokens)
        """)

    public func importRecords(_ records: [RequestRecord]) async throws -> (added: Int, updated: Int) {
        guard !records.isEmpty else { return (0, 0) }
        return try await writer.write { db in
            // The records already in the ledger, with the usage they hold: only those the
            // import will update (more complete usage) are taken out of the rollups and put back.
            var present: [String: (output: Int64, input: Int64)] = [:]
            for chunk in stride(from: 0, to: records.count, by: 500).map({ Array(records[$0..<min($0 + 500, records.count)]) }) {
                let marks = Array(repeating: "?", count: chunk.count).joined(separator: ",")
                let rows = try Row.fetchAll(db, sql: """
                    SELECT id, output_tokens, input_tokens + cache_read_tokens + cache_write_5m_tokens + cache_write_1h_tokens
                    FROM requests WHERE id IN (\(marks))
                    """, arguments: StatementArguments(chunk.map(\.id)))
                for row in rows { present[row[0]] = (row[1], row[2]) }
            }
            // The import's connection keeps the indexes it writes to in memory (SQLite's
            // default 2 MB cache made every index insert of a large import a page read).
            try db.execute(sql: "PRAGMA cache_size = -262144")
            let mark = try Rollups.mark(db)
            let again = records.lazy.filter { record in
                guard let held = present[record.id] else { return false }
                return (record.usage.output, record.usage.totalInput) > (held.output, held.input)
            }.map(\.id)
            let changing = Array(Set(again))
            try Rollups.fold(ids: changing, sign: -1, db)
            let statement = try db.cachedStatement(sql: Self.importRequestSQL)
            var (added, updated) = (0, 0)
            for record in records {
                try RecordBinding.run(statement, record, in: db)
                guard db.changesCount > 0 else { continue }
                if present[record.id] != nil { updated += 1 } else { added += 1 }
            }
            try Rollups.fold(ids: changing, sign: 1, db)
            try Rollups.foldAdded(after: mark, db)
            return (added, updated)
        }
    }

    public func saveRunContexts(_ contexts: [RunContext]) async throws {
        try await writer.write { db in
            let statement = try db.cachedStatement(sql: """
                INSERT INTO run_context (run, source, cwd, git_branch, first_at, last_at) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (run) DO UPDATE SET cwd = COALESCE(excluded.cwd, cwd), git_branch = COALESCE(excluded.git_branch, git_branch),
                    first_at = MIN(first_at, excluded.first_at), last_at = MAX(last_at, excluded.last_at)
                """)
            for context in contexts {
                try statement.execute(arguments: [context.run, context.source, context.cwd, context.gitBranch, Self.millis(context.firstAt), Self.millis(context.lastAt)])
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

    static func runContext(_ row: Row) -> RunContext {
        RunContext(run: row["run"], source: row["source"], cwd: row["cwd"], gitBranch: row["git_branch"], firstAt: date(row["first_at"]), lastAt: date(row["last_at"]))
    }
}
