import Foundation
import GRDB
import StratesCore

/// One call of a run, as the workload profile reads it: its top-level run (a subagent's
/// calls belong to the session that started it), its measures, and its turn.
public struct WorkloadCallRow: Sendable, Equatable {
    public var root: String
    public var run: String
    public var workflow: String?
    public var call: RunCall
}

/// The calls of runs in a window, for `strates report workloads`.
public protocol WorkloadStore: Sendable {
    /// Calls of runs started in [from, to), ordered by top-level run and time; and how many
    /// calls in the window belong to no run.
    func workloadCalls(from: Date, to: Date, team: String?) async throws -> (calls: [WorkloadCallRow], withoutRun: Int64)
}

extension SQLiteLedger {
    public func workloadCalls(from: Date, to: Date, team: String?) async throws -> (calls: [WorkloadCallRow], withoutRun: Int64) {
        let window = "started_at >= ? AND started_at < ? AND status != 'rejected' AND (? IS NULL OR team = ?)"
        let arguments: StatementArguments = [Self.millis(from), Self.millis(to), team, team]
        return try await writer.read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT COALESCE(parent_run, run) AS root, run, workflow, process, started_at, ended_at,
                    input_tokens + cache_read_tokens + cache_write_5m_tokens + cache_write_1h_tokens AS context,
                    output_tokens, cache_read_tokens, COALESCE(cost_nano, 0) AS cost, turn
                FROM requests WHERE run IS NOT NULL AND \(window)
                ORDER BY root, started_at
                """, arguments: arguments)
            let calls = rows.map { row in
                let turn: String? = row["turn"]
                return WorkloadCallRow(
                    root: row["root"], run: row["run"], workflow: row["workflow"],
                    call: RunCall(
                        started: Self.date(row["started_at"]), ended: (row["ended_at"] as Int64?).map(Self.date), context: row["context"],
                        output: row["output_tokens"], cacheRead: row["cache_read_tokens"], cost: row["cost"], toolTurn: turn.map { $0 == "tool" },
                        process: row["process"]
                    )
                )
            }
            let without = try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM requests WHERE run IS NULL AND \(window)", arguments: arguments) ?? 0
            return (calls, without)
        }
    }
}
