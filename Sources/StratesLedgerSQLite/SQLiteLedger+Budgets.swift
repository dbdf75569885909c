import Foundation
import GRDB
import StratesCore
import StratesLedger

extension SQLiteLedger {
    public func budgets() async throws -> [Budget] {
        try await writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM budgets ORDER BY name").compactMap(Self.budget)
        }
    }

    public func save(_ budget: Budget) async throws {
        try await writer.write { db in
            let taken = try String.fetchOne(db, sql: "SELECT id FROM budgets WHERE name = ? AND id <> ?", arguments: [budget.name, budget.id])
            if taken != nil { throw NameTaken(noun: "budget", name: budget.name) }
            try db.execute(
                sql: """
                    INSERT INTO budgets (id, name, scope_kind, scope_value, period, time_zone, unit, limit_amount, enforcement,
                        when_exhausted, alert_thresholds, created_at, updated_at, downgrade_model, downgrade_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (id) DO UPDATE SET name = excluded.name, scope_kind = excluded.scope_kind,
                        scope_value = excluded.scope_value, period = excluded.period, time_zone = excluded.time_zone,
                        unit = excluded.unit, limit_amount = excluded.limit_amount, enforcement = excluded.enforcement,
                        when_exhausted = excluded.when_exhausted, alert_thresholds = excluded.alert_thresholds,
                        updated_at = excluded.updated_at, downgrade_model = excluded.downgrade_model,
                        downgrade_at = excluded.downgrade_at
                    """,
                arguments: [
                    budget.id, budget.name, budget.scope.kind.rawValue, budget.scope.value, budget.period.text, budget.timeZone,
                    budget.unit.rawValue, budget.limit, budget.enforcement.rawValue, budget.whenExhausted.rawValue,
                    budget.alertThresholds.map(String.init).joined(separator: ","), Self.millis(budget.createdAt),
                    Self.millis(budget.updatedAt), budget.downgradeTo, budget.downgradeAtPercent,
                ]
            )
        }
    }

    public func deleteBudget(_ idOrName: String) async throws -> Bool {
        try await writer.write { db in
            // An id wins over a name, as in every lookup (`named`).
            try db.execute(sql: "DELETE FROM budgets WHERE id = ?", arguments: [idOrName])
            if db.changesCount > 0 { return true }
            try db.execute(sql: "DELETE FROM budgets WHERE name = ?", arguments: [idOrName])
            return db.changesCount > 0
        }
    }

    /// The report dimension a scope kind filters on.
    static func dimension(_ kind: BudgetScope.Kind) -> UsageDimension {
        switch kind {
        case .organization: .organization
        case .team: .team
        case .member: .member
        case .key: .key
        case .workflow: .workflow
        case .environment: .environment
        }
    }

    static let tokenSum = "input_tokens + cache_read_tokens + cache_write_5m_tokens + cache_write_1h_tokens + output_tokens"

    /// A scope's cost and tokens (input of every kind plus output), per hour when `hourly`.
    func scopeSpend(_ scope: BudgetScope, from: Date, to: Date?, hourly: Bool) async throws -> [(hour: Int64?, spend: ScopeSpend)] {
        var window = UsageWindow(since: from, until: to)
        window.groups = hourly ? [UsageWindow.hourGroup] : []
        window.filters = [(UsageWindow.filter(Self.dimension(scope.kind))!, scope.value)]
        let (sql, arguments) = window.sql()
        return try await writer.read { db in
            try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
                let tokens: Int64 = row["input"] + row["cache_read"] + row["cache_write_5m"] + row["cache_write_1h"] + row["output"]
                return (hourly ? row["g0"] as Int64 : nil, ScopeSpend(cost: row["cost"], tokens: tokens))
            }
        }
    }

    public func spend(scope: BudgetScope, from: Date, to: Date?) async throws -> ScopeSpend {
        try await scopeSpend(scope, from: from, to: to, hourly: false).first?.spend ?? ScopeSpend()
    }

    public func hourlySpend(scope: BudgetScope, from: Date, to: Date) async throws -> [Int64: ScopeSpend] {
        var hours: [Int64: ScopeSpend] = [:]
        for (hour, spend) in try await scopeSpend(scope, from: from, to: to, hourly: true) { hours[hour ?? 0] = spend }
        return hours
    }

    public func claimAlert(budgetID: String, windowStart: Date, threshold: Int, at date: Date) async throws -> Bool {
        try await writer.write { db in
            try db.execute(
                sql: "INSERT INTO budget_alerts (budget_id, window_start, threshold, sent_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                arguments: [budgetID, Self.millis(windowStart), threshold, Self.millis(date)]
            )
            return db.changesCount > 0
        }
    }

    static func budget(_ row: Row) -> Budget? {
        guard let kind = BudgetScope.Kind(rawValue: row["scope_kind"]),
            let period = BudgetPeriod(text: row["period"]),
            let unit = BudgetUnit(rawValue: row["unit"]),
            let enforcement = BudgetEnforcement(rawValue: row["enforcement"]),
            let exhaustion = BudgetExhaustion(rawValue: row["when_exhausted"])
        else { return nil }
        let thresholds = (row["alert_thresholds"] as String).split(separator: ",").compactMap { Int($0) }
        return Budget(
            id: row["id"], name: row["name"], scope: BudgetScope(kind: kind, value: row["scope_value"]), period: period,
            timeZone: row["time_zone"], unit: unit, limit: row["limit_amount"], enforcement: enforcement,
            whenExhausted: exhaustion, alertThresholds: thresholds, createdAt: date(row["created_at"]),
            updatedAt: date(row["updated_at"]), downgradeTo: row["downgrade_model"], downgradeAtPercent: row["downgrade_at"]
        )
    }
}
