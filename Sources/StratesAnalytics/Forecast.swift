import Foundation
import StratesCore

/// `strates report forecast`: where each budget and each team is heading. The method is
/// linear and stated with the numbers: the average daily spend of the last 7 days (or of
/// the days since the period began, if fewer) continued to the period's end.
public struct Forecast: Sendable {
    public static let method = "linear: the average daily spend of the last 7 days (or since the period began, if shorter), continued to the end of the period"

    public struct BudgetLine: Sendable, Equatable {
        public var budget: Budget
        public var window: BudgetWindow
        public var spent: Int64
        /// Units (nano-USD or tokens) per day.
        public var dailyBurn: Double
        /// At the period's end at the current burn (for a rolling window, what it holds at a
        /// steady burn); nil for `total` budgets.
        public var projected: Int64?
        /// When the limit is reached at the current burn; nil when it is not, before the period ends.
        public var exhaustsAt: Date?
        public var daysLeft: Double?
    }

    public struct TeamLine: Sendable, Equatable {
        public var team: String
        public var monthToDate: Int64
        public var lastWeek: Int64
        public var previousWeek: Int64
        public var dailyBurn: Double
        public var projectedMonth: Int64
        /// Last 7 days against the 7 before (0.25 = +25 %); nil when the week before had no spend.
        public var weekOverWeek: Double?
    }

    public var at: Date
    public var budgets: [BudgetLine]
    public var teams: [TeamLine]

    public init(at: Date, budgets: [BudgetLine], teams: [TeamLine]) {
        self.at = at
        self.budgets = budgets
        self.teams = teams
    }

    /// `recent`: spend in the burn basis (the last 7 days, or since the window began).
    public static func line(for budget: Budget, window: BudgetWindow, spent: Int64, recent: Int64, now: Date) -> BudgetLine {
        let basisDays = Self.basisDays(since: window.start, now: now)
        let burn = Double(recent) / basisDays
        var line = BudgetLine(budget: budget, window: window, spent: spent, dailyBurn: burn)
        if let end = window.end {
            let remaining = max(0, end.timeIntervalSince(now) / 86_400)
            // A rolling window does not reset: at a steady burn it holds the burn times its length.
            line.projected = window.rolling ? Int64(burn * end.timeIntervalSince(window.start) / 86_400) : spent + Int64(burn * remaining)
        }
        if spent >= budget.limit {
            line.exhaustsAt = now
            line.daysLeft = 0
        } else if burn > 0 {
            let days = Double(budget.limit - spent) / burn
            let at = now.addingTimeInterval(days * 86_400)
            // Within this period (a rolling window has no reset to wait for).
            if window.rolling || window.end.map({ at < $0 }) ?? true {
                line.exhaustsAt = at
                line.daysLeft = days
            }
        }
        return line
    }

    public static func team(_ team: String, monthToDate: Int64, lastWeek: Int64, previousWeek: Int64, monthStart: Date, monthEnd: Date, now: Date) -> TeamLine {
        let basisDays = Self.basisDays(since: monthStart, now: now)
        let recent = now.timeIntervalSince(monthStart) < 7 * 86_400 ? monthToDate : lastWeek
        let burn = Double(recent) / basisDays
        let projected = monthToDate + Int64(burn * max(0, monthEnd.timeIntervalSince(now) / 86_400))
        return TeamLine(
            team: team, monthToDate: monthToDate, lastWeek: lastWeek, previousWeek: previousWeek, dailyBurn: burn, projectedMonth: projected,
            weekOverWeek: previousWeek > 0 ? Double(lastWeek - previousWeek) / Double(previousWeek) : nil
        )
    }

    /// The days the burn is averaged over: the last 7, or fewer since `start` (an hour at least).
    static func basisDays(since start: Date, now: Date) -> Double {
        max(1.0 / 24, min(7, now.timeIntervalSince(start) / 86_400))
    }

    func amount(_ value: Int64, unit: BudgetUnit) -> String { unit == .usd ? NanoUSD(value).description : "\(value) tokens" }

    public var budgetTable: [[String]] {
        [["budget", "scope", "period", "spent", "limit", "burn/day", "projected", "exhausted"]]
            + budgets.map { line in
                let unit = line.budget.unit
                return [
                    line.budget.name, line.budget.scope.text, line.budget.period.text, amount(line.spent, unit: unit), amount(line.budget.limit, unit: unit),
                    amount(Int64(line.dailyBurn.rounded()), unit: unit), line.projected.map { amount($0, unit: unit) } ?? "-",
                    line.exhaustsAt.map { line.daysLeft == 0 ? "now" : "\(BudgetText.timestamp($0)) (in \(String(format: "%.1f", line.daysLeft ?? 0)) days)" }
                        ?? "not this period",
                ]
            }
    }

    public var teamTable: [[String]] {
        [["team", "month to date", "last 7 days", "week over week", "burn/day", "projected month"]]
            + teams.map { line in
                [
                    line.team, NanoUSD(line.monthToDate).description, NanoUSD(line.lastWeek).description,
                    line.weekOverWeek.map { String(format: "%+.1f%%", $0 * 100) } ?? "-", NanoUSD(Int64(line.dailyBurn.rounded())).description,
                    NanoUSD(line.projectedMonth).description,
                ]
            }
    }
}
