import Foundation
import GRDB

/// The ledger's rollups, kept in the same transaction as the requests they sum, so reports
/// and budget checks over months of traffic read thousands of rows instead of millions.
///
/// - `usage_daily` and `usage_hourly`: per UTC day and per UTC hour, and every attribution
///   dimension a report or budget filters or groups by (organization, team, member, key,
///   workflow, process, model, provider, environment, status), the sums of a usage report.
///   A missing value is stored as '' (so the key is unique) and read back as NULL. A window
///   reads whole days from the first, whole hours at its edges from the second, and only
///   the partial hours at its very ends from `requests`.
/// - `run_dirty`: top-level runs (a session with its subagents) written to since their
///   profile was made; `run_profiles` holds each run's profile and totals, made again for
///   those runs when a report asks. It is ordered by the run's first call, so a report's
///   month of runs is one stretch of the table, not a lookup per run.
///
/// Requests are only ever added (folded in from the records written, `fold(records:)`),
/// except by an import that finds more complete usage for a call it imported before: such
/// rows are taken out of the sums before the update and put back after it (`fold(ids:sign:)`).
enum Rollups {
    static let dimensions = ["organization", "team", "member", "key_id", "workflow", "process", "model", "provider", "environment", "status"]
    static let measures = [
        "requests", "input", "output", "cache_read", "cache_write_5m", "cache_write_1h", "reasoning", "cost", "unknown_cost", "estimated", "failed",
        "without_run",
    ]

    /// A rollup level: its table, its time column and the milliseconds in one unit.
    struct Level {
        var table: String
        var column: String
        var unit: Int64
    }

    static let daily = Level(table: "usage_daily", column: "day", unit: 86_400_000)
    static let hourly = Level(table: "usage_hourly", column: "hour", unit: 3_600_000)

    static let schema =
        [daily, hourly].map { level in
            """
            CREATE TABLE \(level.table) (
                \(level.column) INTEGER NOT NULL,
                \(dimensions.map { "\($0) TEXT NOT NULL" }.joined(separator: ", ")),
                \(measures.map { "\($0) INTEGER NOT NULL" }.joined(separator: ", ")),
                PRIMARY KEY (\(level.column), \(dimensions.joined(separator: ", ")))
            ) WITHOUT ROWID;
            """
        }.joined(separator: "\n") + """
            CREATE TABLE run_dirty (root TEXT PRIMARY KEY) WITHOUT ROWID;
            CREATE TABLE run_profiles (
                root TEXT NOT NULL, rules TEXT NOT NULL, team TEXT, member TEXT, model TEXT, first_at INTEGER NOT NULL, last_at INTEGER NOT NULL,
                workload TEXT NOT NULL, workflow TEXT NOT NULL, calls INTEGER NOT NULL, tokens INTEGER NOT NULL, cost INTEGER NOT NULL,
                seconds REAL NOT NULL, context_growth REAL NOT NULL, cache_read INTEGER NOT NULL, context INTEGER NOT NULL, output INTEGER NOT NULL,
                loop_length INTEGER NOT NULL, child_runs INTEGER NOT NULL,
                PRIMARY KEY (first_at, root)
            ) WITHOUT ROWID;
            CREATE UNIQUE INDEX run_profiles_root ON run_profiles (root);
            """

    /// The requests columns each dimension sums over.
    static let sourceColumns = [
        "COALESCE(organization, '')", "COALESCE(team, '')", "COALESCE(member, '')", "COALESCE(key_id, '')", "COALESCE(workflow, '')",
        "COALESCE(process, '')", "COALESCE(served_model, requested_model)", "COALESCE(provider, '')", "environment", "status",
    ]

    static func usageFold(_ level: Level, where condition: String) -> String {
        let sums = [
            "COUNT(*)", "SUM(input_tokens)", "SUM(output_tokens)", "SUM(cache_read_tokens)", "SUM(cache_write_5m_tokens)",
            "SUM(cache_write_1h_tokens)", "SUM(reasoning_tokens)", "SUM(COALESCE(cost_nano, 0))", "SUM(cost_nano IS NULL)",
            "SUM(usage_estimated)", "SUM(status IN ('failed', 'rejected'))", "SUM(run IS NULL)",
        ]
        return """
            INSERT INTO \(level.table) (\(level.column), \(dimensions.joined(separator: ", ")), \(measures.joined(separator: ", ")))
            SELECT started_at / \(level.unit), \(sourceColumns.joined(separator: ", ")), \(sums.map { "?1 * \($0)" }.joined(separator: ", "))
            FROM requests WHERE \(condition)
            GROUP BY \((1...(dimensions.count + 1)).map(String.init).joined(separator: ", "))
            ON CONFLICT DO UPDATE SET \(accumulate)
            """
    }

    /// Adds the incoming row's measures to the stored ones. SQLite turns an overflowing integer sum
    /// into a REAL, which no reader expects; the sum is held at the Int64 range instead.
    static let accumulate = measures.map {
        "\($0) = MIN(MAX(\($0) + excluded.\($0), -9223372036854775807), 9223372036854775807)"
    }.joined(separator: ", ")

    static let root = "COALESCE(parent_run, run)"

    static func markDirty(where condition: String) -> String {
        "INSERT OR IGNORE INTO run_dirty (root) SELECT DISTINCT \(root) FROM requests WHERE run IS NOT NULL AND \(condition)"
    }

    /// Takes rows out of (`sign` -1) or puts them back into (+1) the sums.
    static func fold(ids: [String], sign: Int, _ db: Database) throws {
        for start in stride(from: 0, to: ids.count, by: 500) {
            let chunk = Array(ids[start..<min(start + 500, ids.count)])
            let marks = (0..<chunk.count).map { "?\($0 + 2)" }.joined(separator: ",")
            let values: [(any DatabaseValueConvertible)?] = [sign] + chunk
            for level in [daily, hourly] {
                try db.execute(sql: usageFold(level, where: "id IN (\(marks))"), arguments: StatementArguments(values))
            }
            if sign > 0 {
                try db.execute(sql: markDirty(where: "id IN (\(chunk.map { _ in "?" }.joined(separator: ",")))"), arguments: StatementArguments(chunk))
            }
        }
    }

    /// Builds every rollup again from the requests (the migration that introduced them, and
    /// `strates ledger rebuild-rollups` for a ledger written by other means).
    static func rebuild(_ db: Database) throws {
        try db.execute(sql: "DELETE FROM usage_daily; DELETE FROM usage_hourly; DELETE FROM run_profiles; DELETE FROM run_dirty;")
        for level in [daily, hourly] { try db.execute(sql: usageFold(level, where: "1"), arguments: [1]) }
        try db.execute(sql: markDirty(where: "1"))
    }
}
