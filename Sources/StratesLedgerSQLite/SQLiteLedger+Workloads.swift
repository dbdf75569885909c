import Foundation
import GRDB
import GRDBSQLite
import StratesCore
import StratesLedger

extension SQLiteLedger {
    /// The profiles, under `rules`, of runs whose first call is in [from, to) (a run is
    /// taken whole, with its subagents), and how many calls in the window belong to no run:
    /// every run read whole into memory, the reference the tests hold the streamed
    /// `workloadReport` to. The reports themselves never read runs this way.
    func workloadProfiles(from: Date, to: Date, team: String?, rules: WorkloadRules) async throws -> (runs: [RunProfile], withoutRun: Int64) {
        let runs = try await storedRuns(from: from, to: to, team: team, rules: rules).map(\.profile)
        return (runs, try await callsWithoutRun(from: from, to: to, team: team))
    }

    /// The runs' profiles streamed into `sink` four measures and two names at a time, not
    /// read whole into memory first (a month holds hundreds of thousands of runs).
    public func runProfiles<Sink: RunProfileSink>(from: Date, to: Date, team: String?, rules: WorkloadRules, into sink: Sink) async throws -> Sink {
        _ = try await refreshProfiles(rules: rules)
        return try await writer.read { db in
            var sink = sink
            let statement = try db.makeStatement(
                sql: """
                    SELECT workload, workflow, calls, tokens, cost, seconds, context_growth, cache_read, context, output, loop_length, child_runs
                    FROM run_profiles WHERE first_at >= ? AND first_at < ? AND (? IS NULL OR team = ?)
                    """)
            try statement.setArguments([Self.millis(from), Self.millis(to), team, team])
            var workflows: [String] = []
            try Self.step(statement, in: db) { row in
                // A handful of workflows name a month of runs: each name is made once.
                let workflow = row.text(1, among: &workflows) ?? "(none)"
                sink.add(
                    RunProfile(
                        run: "", workflow: workflow, workload: WorkloadClass(rawValue: row.text(0) ?? "") ?? .chain, calls: Int(row.int(2)), tokens: row.int(3),
                        cost: row.int(4), seconds: row.double(5), contextGrowth: row.double(6), cacheRead: row.int(7), context: row.int(8), output: row.int(9),
                        loopLength: Int(row.int(10)), childRuns: Int(row.int(11))
                    ))
            }
            return sink
        }
    }

    /// Calls in [from, to) that belong to no run (not profiled), from the rollups.
    public func callsWithoutRun(from: Date, to: Date, team: String?) async throws -> Int64 {
        var window = UsageWindow(since: from, until: to)
        window.condition = "status != 'rejected'"
        if let team { window.filters = [(UsageWindow.filter(.team)!, team)] }
        let (sql, arguments) = window.sql()
        return try await writer.read { db in try Row.fetchOne(db, sql: sql, arguments: arguments)?["without_run"] as Int64? ?? 0 }
    }

    /// The stored runs whose first call is in [from, to), their profiles made first where
    /// missing or out of date. Read column by column: a month can hold hundreds of
    /// thousands of runs, and named lookups per row took most of a report's time.
    func storedRuns(from: Date, to: Date, team: String?, rules: WorkloadRules?) async throws -> [StoredRun] {
        _ = try await refreshProfiles(rules: rules)
        return try await writer.read { db in
            let statement = try db.makeStatement(
                sql: """
                    SELECT root, team, member, model, first_at, last_at, workload, workflow, calls, tokens, cost, seconds, context_growth,
                        cache_read, context, output, loop_length, child_runs
                    FROM run_profiles WHERE first_at >= ? AND first_at < ? AND (? IS NULL OR team = ?)
                    """)
            try statement.setArguments([Self.millis(from), Self.millis(to), team, team])
            var runs: [StoredRun] = []
            try Self.step(statement, in: db) { row in
                runs.append(
                    StoredRun(
                        profile: RunProfile(
                            run: row.text(0) ?? "", workflow: row.text(7) ?? "(none)", workload: WorkloadClass(rawValue: row.text(6) ?? "") ?? .chain,
                            calls: Int(row.int(8)), tokens: row.int(9), cost: row.int(10), seconds: row.double(11), contextGrowth: row.double(12),
                            cacheRead: row.int(13), context: row.int(14), output: row.int(15), loopLength: Int(row.int(16)), childRuns: Int(row.int(17))
                        ),
                        team: row.text(1), member: row.text(2), model: row.text(3), firstAt: row.int(4), lastAt: row.int(5)
                    ))
            }
            return runs
        }
    }

    /// Builds the rollups again from the requests; returns how many requests they cover.
    public func rebuildRollups() async throws -> Int {
        try await writer.write { db in
            try Rollups.rebuild(db)
            return try Int.fetchOne(db, sql: "SELECT COALESCE(SUM(requests), 0) FROM usage_daily") ?? 0
        }
    }

    /// Makes every pending run profile now (reports would otherwise make them when first
    /// asked); returns how many were made. Without rules, under those the stored profiles
    /// were made with (the totals the outcome reports read do not depend on them).
    public func refreshProfiles(rules: WorkloadRules?) async throws -> Int {
        try await writer.write { db in try Self.refreshProfiles(db, rules: rules) }
    }

    /// Makes the profiles of runs written to since their last profile, and of runs profiled
    /// under other rules: from all of a run's calls, with its totals, its team and member
    /// (the last its calls name) and the model it spent most on.
    @discardableResult
    static func refreshProfiles(_ db: Database, rules given: WorkloadRules?) throws -> Int {
        // Every stored profile was made under the same rules (each refresh makes again all
        // those made under others), so one row says whether the rules changed; only then are
        // all profiles read.
        let stored = try String.fetchOne(db, sql: "SELECT rules FROM run_profiles LIMIT 1")
        let rules = given ?? stored.flatMap(WorkloadRules.init(fingerprint:)) ?? WorkloadRules()
        if let stored, stored != rules.fingerprint {
            try db.execute(sql: "INSERT OR IGNORE INTO run_dirty (root) SELECT root FROM run_profiles WHERE rules != ?", arguments: [rules.fingerprint])
        }
        let roots = try String.fetchAll(db, sql: "SELECT root FROM run_dirty")
        guard !roots.isEmpty else { return 0 }
        let calls = try db.cachedStatement(
            sql: """
                SELECT run, workflow, team, member, COALESCE(served_model, requested_model) AS model, process, started_at, ended_at,
                    input_tokens + cache_read_tokens + cache_write_5m_tokens + cache_write_1h_tokens AS context,
                    output_tokens, cache_read_tokens, COALESCE(cost_nano, 0) AS cost, turn
                FROM requests WHERE COALESCE(parent_run, run) = ? AND run IS NOT NULL AND status != 'rejected' ORDER BY started_at
                """)
        let save = try db.cachedStatement(
            sql: """
                INSERT OR REPLACE INTO run_profiles (root, rules, team, member, model, first_at, last_at, workload, workflow, calls, tokens, cost,
                    seconds, context_growth, cache_read, context, output, loop_length, child_runs)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
        let forget = try db.cachedStatement(sql: "DELETE FROM run_profiles WHERE root = ?")
        for root in roots {
            var group: [RunProfile.Call] = []
            var team: String?
            var member: String?
            var spentOn: [String: (cost: Int64, tokens: Int64)] = [:]
            for row in try Row.fetchAll(calls, arguments: [root]) {
                let turn: String? = row["turn"]
                team = (row["team"] as String?) ?? team
                member = (row["member"] as String?) ?? member
                let call = RunCall(
                    started: date(row["started_at"]), ended: (row["ended_at"] as Int64?).map(date), context: row["context"],
                    output: row["output_tokens"], cacheRead: row["cache_read_tokens"], cost: row["cost"], toolTurn: turn.map { $0 == "tool" },
                    process: row["process"]
                )
                let spent = spentOn[row["model"], default: (0, 0)]
                spentOn[row["model"]] = (spent.cost + call.cost, spent.tokens + call.context + call.output)
                group.append(RunProfile.Call(run: row["run"], workflow: row["workflow"], call: call))
            }
            guard let first = group.first, let last = group.last else {
                try forget.execute(arguments: [root])
                continue
            }
            let model = spentOn.max { ($0.value.cost, $0.value.tokens, $1.key) < ($1.value.cost, $1.value.tokens, $0.key) }?.key
            let p = RunProfile.make(root: root, calls: group, rules: rules)
            try save.execute(arguments: [
                root, rules.fingerprint, team, member, model, millis(first.call.started), millis(last.call.started), p.workload.rawValue, p.workflow,
                p.calls, p.tokens, p.cost, p.seconds, p.contextGrowth, p.cacheRead, p.context, p.output, p.loopLength, p.childRuns,
            ])
        }
        try db.execute(sql: "DELETE FROM run_dirty")
        return roots.count
    }
}

/// A run as `run_profiles` keeps it: its profile and what the outcome reports group by.
struct StoredRun {
    var profile: RunProfile
    var team: String?
    var member: String?
    var model: String?
    var firstAt: Int64
    var lastAt: Int64
}

/// One run's totals: its session with its subagents.
struct RunTotal: Sendable, Equatable {
    var run: String
    var team: String?
    var member: String?
    var workflow: String?
    /// The model it spent most on.
    var model: String?
    var calls: Int64
    var tokens: Int64
    var cost: Int64
    var firstAt: Date
    var lastAt: Date
}

extension SQLiteLedger {
    /// Runs started in [from, to) (by their first call), with their totals: the stored run
    /// profiles (made first where a run has new calls), read whole. The reference the tests
    /// hold the streamed `outcomeTally` and the profiles' totals to.
    func runTotals(from: Date, to: Date, team: String?) async throws -> [RunTotal] {
        try await storedRuns(from: from, to: to, team: team, rules: nil).map { run in
            RunTotal(
                run: run.profile.run, team: run.team, member: run.member, workflow: run.profile.workflow == "(none)" ? nil : run.profile.workflow,
                model: run.model, calls: Int64(run.profile.calls), tokens: run.profile.tokens, cost: run.profile.cost,
                firstAt: Self.date(run.firstAt), lastAt: Self.date(run.lastAt)
            )
        }
    }
}

extension SQLiteLedger {
    /// Spend per team and hour (hours since 1970, UTC) for requests started in [from, to).
    public func hourlySpendByTeam(from: Date, to: Date) async throws -> [String: [Int64: Int64]] {
        // Whole hours grouped in the rollup's own key order (hour, organization, team), so
        // SQLite sums as it scans instead of sorting a month of hours; the partial hours at
        // the ends come from the requests.
        let hours = UsageWindow.split(Self.millis(from), Self.millis(to), unit: Rollups.hourly.unit)
        return try await writer.read { db in
            var result: [String: [Int64: Int64]] = [:]
            if let whole = hours.whole {
                let rows = try Row.fetchCursor(
                    db,
                    sql: """
                        SELECT hour, team, SUM(cost) FROM usage_hourly WHERE hour >= ? AND hour < ? AND status != 'rejected'
                        GROUP BY hour, organization, team
                        """, arguments: [whole.0, whole.1])
                while let row = try rows.next() {
                    let team: String = row[1]
                    result[team.isEmpty ? "(none)" : team, default: [:]][row[0], default: 0] += row[2] as Int64
                }
            }
            for (start, end) in hours.rest {
                let rows = try Row.fetchCursor(
                    db,
                    sql: """
                        SELECT started_at / 3600000, COALESCE(team, '(none)'), SUM(COALESCE(cost_nano, 0)) FROM requests
                        WHERE started_at >= ? AND started_at < ? AND status != 'rejected' GROUP BY 1, 2
                        """, arguments: [start, end])
                while let row = try rows.next() { result[row[1], default: [:]][row[0], default: 0] += row[2] as Int64 }
            }
            return result
        }
    }
}

extension SQLiteLedger {
    /// The outcomes and run totals the outcome and efficiency reports sum, for runs started
    /// in [from, to), grouped by `by` (workflow, team, member or model), with the outcomes
    /// recorded since `from`: the outcomes since `from` read first (a month's are tens of thousands),
    /// then the run profiles streamed past them four columns at a time. Joining the two in
    /// SQL took much longer (an index built and probed for every run); reading whole
    /// runs into memory took longer still.
    public func runOutcomes<Sink: RunOutcomeSink>(from: Date, to: Date, team: String?, by: String, into sink: Sink) async throws -> Sink {
        _ = try await refreshProfiles(rules: nil)
        let group =
            switch by {
            case "team": "team"
            case "member": "member"
            case "model": "model"
            default: "workflow"
            }
        return try await writer.read { db in
            var sink = sink
            let outcomes = try db.makeStatement(sql: "SELECT run, kind, quantity, value_nano FROM outcomes WHERE at >= ?")
            try outcomes.setArguments([Self.millis(from)])
            try Self.step(outcomes, in: db) { row in
                guard let run = row.text(0), let kind = row.text(1).flatMap(Outcome.Kind.init(rawValue:)) else { return }
                sink.record(run: run, kind: kind, quantity: row.optionalInt(2), value: row.optionalInt(3))
            }
            let runs = try db.makeStatement(
                sql: """
                    SELECT root, \(group), tokens, cost FROM run_profiles WHERE first_at >= ? AND first_at < ? AND (? IS NULL OR team = ?)
                    """)
            try runs.setArguments([Self.millis(from), Self.millis(to), team, team])
            var last: String?
            try Self.step(runs, in: db) { row in
                // Runs of a group follow each other only by chance; equal names are kept once.
                var name = row.text(1) ?? "(none)"
                if name == last { name = last! } else { last = name }
                sink.add(run: row.text(0) ?? "", group: name, tokens: row.int(2), cost: row.int(3))
            }
            return sink
        }
    }

    /// Steps `statement` to its end, handing each row to `body` for reading by position.
    static func step(_ statement: Statement, in db: Database, _ body: (RawRow) throws -> Void) throws {
        let handle = statement.sqliteStatement
        defer { sqlite3_reset(handle) }
        while true {
            let code = sqlite3_step(handle)
            if code == SQLITE_DONE { return }
            guard code == SQLITE_ROW else {
                throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)), sql: statement.sql)
            }
            try body(RawRow(handle: handle))
        }
    }
}

/// The current row of a stepped statement, read by column position without GRDB's row
/// values (which cost more than the reading itself over hundreds of thousands of rows).
struct RawRow {
    let handle: SQLiteStatement

    func text(_ column: Int32) -> String? {
        guard sqlite3_column_type(handle, column) != SQLITE_NULL, let bytes = sqlite3_column_text(handle, column) else { return nil }
        return String(cString: bytes)
    }

    func int(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }

    func optionalInt(_ column: Int32) -> Int64? { sqlite3_column_type(handle, column) == SQLITE_NULL ? nil : sqlite3_column_int64(handle, column) }

    func double(_ column: Int32) -> Double { sqlite3_column_double(handle, column) }

    /// The text in `column`, the same String as an equal one in `seen` (added when new):
    /// for columns with few distinct values over many rows.
    func text(_ column: Int32, among seen: inout [String]) -> String? {
        guard sqlite3_column_type(handle, column) != SQLITE_NULL, let bytes = sqlite3_column_text(handle, column) else { return nil }
        let count = Int(sqlite3_column_bytes(handle, column))
        for name in seen where name.utf8.count == count {
            let same = name.utf8.withContiguousStorageIfAvailable { memcmp($0.baseAddress!, bytes, count) == 0 } ?? (name == String(cString: bytes))
            if same { return name }
        }
        let name = String(cString: bytes)
        if seen.count < 64 { seen.append(name) }
        return name
    }
}
