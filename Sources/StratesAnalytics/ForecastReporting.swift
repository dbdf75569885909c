import Foundation
import StratesCore
import StratesLedger

/// Builds the forecast from the ledger for the CLI and the API.
public enum ForecastReporting {
    /// `team`: only that team's budgets and spend (a team admin's view).
    public static func make(database: any LedgerDatabase, team: String?, now: Date = Date()) async throws -> Forecast {
        var lines: [Forecast.BudgetLine] = []
        for budget in try await database.budgets() where team == nil || (budget.scope.kind == .team && budget.scope.value == team) {
            let zone = TimeZone(identifier: budget.timeZone) ?? TimeZone(identifier: "UTC")!
            let window = budget.period.window(containing: now, timeZone: zone)
            let spent = try await database.spend(scope: budget.scope, from: window.start, to: now.addingTimeInterval(1)).amount(budget.unit)
            let basisStart = max(window.start, now.addingTimeInterval(-7 * 86_400))
            let recent = try await database.spend(scope: budget.scope, from: basisStart, to: now.addingTimeInterval(1)).amount(budget.unit)
            lines.append(Forecast.line(for: budget, window: window, spent: spent, recent: recent, now: now))
        }
        let month = BudgetPeriod.month.window(containing: now, timeZone: TimeZone(identifier: "UTC")!)
        let filters: [UsageDimension: String] = team.map { [.team: $0] } ?? [:]
        func byTeam(_ from: Date, _ to: Date) async throws -> [String: Int64] {
            let rows = try await database.usage(UsageQuery(groupBy: [.team], since: from, until: to, filters: filters))
            return Dictionary(rows.map { ($0.group["team"] ?? "(none)", $0.cost.value) }, uniquingKeysWith: +)
        }
        let monthToDate = try await byTeam(month.start, now.addingTimeInterval(1))
        let lastWeek = try await byTeam(now.addingTimeInterval(-7 * 86_400), now.addingTimeInterval(1))
        let previousWeek = try await byTeam(now.addingTimeInterval(-14 * 86_400), now.addingTimeInterval(-7 * 86_400))
        let teams = Set(monthToDate.keys).union(lastWeek.keys).sorted()
        let teamLines = teams.map { name in
            Forecast.team(
                name, monthToDate: monthToDate[name] ?? 0, lastWeek: lastWeek[name] ?? 0, previousWeek: previousWeek[name] ?? 0,
                monthStart: month.start, monthEnd: month.end ?? now, now: now
            )
        }.sorted { ($0.projectedMonth, $1.team) > ($1.projectedMonth, $0.team) }
        return Forecast(at: now, budgets: lines, teams: teamLines)
    }
}
