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
    /// Runs started in [from, to) (by their first call), with their totals.
    func runTotals(from: Date, to: Date, team: String?) async throws -> [RunTotal]
    /// Spend per team and hour (hours since 1970, UTC) for requests started in [from, to).
    func hourlySpendByTeam(from: Date, to: Date) async throws -> [String: [Int64: Int64]]
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

/// One run's totals, for the outcome reports: its session with its subagents.
public struct RunTotal: Sendable, Equatable {
    public var run: String
    public var team: String?
    public var member: String?
    public var workflow: String?
    /// The model it spent most on.
    public var model: String?
    public var calls: Int64
    public var tokens: Int64
    public var cost: Int64
    public var firstAt: Date
    public var lastAt: Date

    public init(run: String, team: String?, member: String?, workflow: String?, model: String?, calls: Int64, tokens: Int64, cost: Int64, firstAt: Date, lastAt: Date) {
        self.run = run
        self.team = team
        self.member = member
        self.workflow = workflow
        self.model = model
        self.calls = calls
        self.tokens = tokens
        self.cost = cost
        self.firstAt = firstAt
        self.lastAt = lastAt
    }
}

extension SQLiteLedger {
    /// Runs started in [from, to) (by their first call), with their totals.
    public func runTotals(from: Date, to: Date, team: String?) async throws -> [RunTotal] {
        // Two passes over the calls, grouped once each: per run, then per run and model (the
        // model a run spent most on is picked here, not by a correlated subquery per run).
        let calls = """
            SELECT COALESCE(parent_run, run) AS root, team, member, workflow, COALESCE(served_model, requested_model) AS model, started_at,
                input_tokens + output_tokens + cache_read_tokens + cache_write_5m_tokens + cache_write_1h_tokens AS tokens, COALESCE(cost_nano, 0) AS cost
            FROM requests WHERE run IS NOT NULL AND status != 'rejected' AND (? IS NULL OR team = ?)
            """
        return try await writer.read { db in
            var mainModel: [String: (model: String, cost: Int64, tokens: Int64)] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT root, model, SUM(cost) AS spent, SUM(tokens) AS used FROM (\(calls)) GROUP BY root, model", arguments: [team, team]) {
                let root: String = row["root"]
                let candidate = (model: (row["model"] as String?) ?? "", cost: row["spent"] as Int64, tokens: row["used"] as Int64)
                if let current = mainModel[root], (current.cost, current.tokens) >= (candidate.cost, candidate.tokens) { continue }
                mainModel[root] = candidate
            }
            let rows = try Row.fetchAll(db, sql: """
                SELECT root, MIN(started_at) AS first_at, MAX(started_at) AS last_at, COUNT(*) AS calls, SUM(tokens) AS tokens, SUM(cost) AS cost,
                    MAX(team) AS team, MAX(member) AS member, MAX(workflow) AS workflow
                FROM (\(calls)) GROUP BY root HAVING MIN(started_at) >= ? AND MIN(started_at) < ? ORDER BY cost DESC
                """, arguments: [team, team, Self.millis(from), Self.millis(to)])
            return rows.map { row in
                let root: String = row["root"]
                return RunTotal(
                    run: root, team: row["team"], member: row["member"], workflow: row["workflow"], model: mainModel[root]?.model, calls: row["calls"],
                    tokens: row["tokens"], cost: row["cost"], firstAt: Self.date(row["first_at"]), lastAt: Self.date(row["last_at"])
                )
            }
        }
    }
}

extension SQLiteLedger {
    /// Spend per team and hour (hours since 1970, UTC) for requests started in [from, to).
    public func hourlySpendByTeam(from: Date, to: Date) async throws -> [String: [Int64: Int64]] {
        try await writer.read { db in
            var result: [String: [Int64: Int64]] = [:]
            let rows = try Row.fetchAll(db, sql: """
                SELECT COALESCE(team, '(none)') AS team, started_at / 3600000 AS hour, SUM(COALESCE(cost_nano, 0)) AS spend
                FROM requests WHERE started_at >= ? AND started_at < ? AND status != 'rejected' GROUP BY 1, 2
                """, arguments: [Self.millis(from), Self.millis(to)])
            for row in rows { result[row["team"], default: [:]][row["hour"]] = row["spend"] }
            return result
        }
    }
}
