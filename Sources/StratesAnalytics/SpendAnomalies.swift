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

extension SpendAnomaly {
    /// `{"spikes": [...]}`, as the CLI and the API give the list.
    public static func listJSON(_ spikes: [SpendAnomaly]) -> String {
        #"{"spikes":[\#(spikes.map(\.json).joined(separator: ","))]}"#
    }

    public static func listCSV(_ spikes: [SpendAnomaly]) -> String {
        CSVText.document(
            header: ["team", "hour", "spend_usd", "baseline_usd", "factor"],
            rows: spikes.map { spike in
                [
                    spike.team, BudgetText.timestamp(spike.start), NanoUSD(spike.spend).dollars, NanoUSD(spike.baseline).dollars,
                    spike.baseline > 0 ? String((spike.factor * 10).rounded() / 10) : "",
                ]
            })
    }

    public var json: String {
        #"{"team":\#(JSONText.quote(team)),"hour":\#(JSONText.quote(BudgetText.timestamp(start))),"spend_usd":\#(JSONText.quote(NanoUSD(spend).dollars)),"baseline_usd":\#(JSONText.quote(NanoUSD(baseline).dollars)),"factor":\#(baseline > 0 ? String((factor * 10).rounded() / 10) : "null")}"#
    }
}
