import Foundation
import StratesCore

/// When an hour's spend is a spike.
public struct AnomalyRules: Sendable, Equatable {
    /// The hour must reach this many times the baseline ...
    public var factor = 3.0
    /// ... and at least this much, so that cents over nothing are not spikes.
    public var minimumPerHour = NanoUSD(1_000_000_000)
    /// The baseline is the average hourly spend over this many days before the hour.
    public var baselineDays = 7

    public init() {}

    public static let keys = ["factor", "min_usd_per_hour", "baseline_days"]

    /// The spikes among `hours` (hour → spend) of one team, for the hours in `checked`.
    public func spikes(team: String, hours: [Int64: Int64], checked: ClosedRange<Int64>) -> [SpendAnomaly] {
        let span = Int64(baselineDays * 24)
        return checked.compactMap { hour in
            guard let spend = hours[hour], spend >= minimumPerHour.value else { return nil }
            let before = ((hour - span)..<hour).reduce(Int64(0)) { $0 + (hours[$1] ?? 0) }
            let baseline = before / span
            guard Double(spend) >= factor * Double(baseline) else { return nil }
            return SpendAnomaly(team: team, hour: hour, spend: spend, baseline: baseline)
        }
    }
}
