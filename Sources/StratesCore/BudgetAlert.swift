import Foundation

/// A budget crossed one of its alert thresholds in a window; sent once per threshold per window.
public struct BudgetAlert: Sendable, Equatable {
    public var budget: Budget
    public var window: BudgetWindow
    public var threshold: Int
    public var spent: Int64

    public init(budget: Budget, window: BudgetWindow, threshold: Int, spent: Int64) {
        self.budget = budget
        self.window = window
        self.threshold = threshold
        self.spent = spent
    }

    /// The thresholds a standing has reached, in ascending order.
    public static func reached(by standing: BudgetStanding) -> [Int] {
        standing.budget.alertThresholds.sorted().filter { standing.budget.reaches($0, with: standing.spent) }
    }

    /// One line for people: the log, a Slack message.
    public var text: String {
        let resets = window.end.map { " Resets \(BudgetText.timestamp($0))." } ?? ""
        return
            "Budget '\(budget.name)' (\(budget.scope.text), \(budget.period.text)) reached \(threshold)%: spent \(budget.format(spent)) of \(budget.format(budget.limit)).\(resets)"
    }
}

public enum BudgetText {
    public static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }
}
