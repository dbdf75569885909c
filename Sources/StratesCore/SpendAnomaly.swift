import Foundation

/// A spend spike: an hour in which a team spent well above its rolling baseline, the average
/// hourly spend of the days before. Flagged as it happens (log, webhook) and listed by
/// `strates report anomalies`.
public struct SpendAnomaly: Sendable, Equatable {
    public var team: String
    /// Hours since 1970 (UTC).
    public var hour: Int64
    public var spend: Int64
    public var baseline: Int64

    public init(team: String, hour: Int64, spend: Int64, baseline: Int64) {
        self.team = team
        self.hour = hour
        self.spend = spend
        self.baseline = baseline
    }

    public var start: Date { Date(timeIntervalSince1970: Double(hour) * 3_600) }
    public var factor: Double { baseline > 0 ? Double(spend) / Double(baseline) : .infinity }

    public var text: String {
        "team '\(team)' spent \(NanoUSD(spend)) in the hour from \(BudgetText.timestamp(start)), "
            + (baseline > 0 ? String(format: "%.1f×", factor) + " its baseline of \(NanoUSD(baseline)) an hour" : "with no spend in the days before")
    }
}
