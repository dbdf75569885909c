import Foundation
import StratesCore

/// `strates report efficiency`: per model (or workflow, team, member), how much of what was
/// spent produced something. Runs started in the window with the outcomes recorded for them:
/// the outcome rate, cost per outcome of any kind, tokens per merged line, and the runs that
/// produced nothing with what they cost.
public struct EfficiencyReport: Sendable {
    public struct Line: Sendable, Equatable {
        public var group: String
        public var runs: Int
        public var runsWithOutcome: Int
        public var outcomes: Int
        public var spend: Int64
        public var tokens: Int64
        public var mergedLines: Int64
        /// Tokens of the runs that merged lines.
        public var mergingTokens: Int64
        public var zeroOutputRuns: Int
        public var zeroOutputSpend: Int64

        public var outcomeRate: Double { runs > 0 ? Double(runsWithOutcome) / Double(runs) : 0 }
        public var costPerOutcome: Int64? { outcomes > 0 ? spend / Int64(outcomes) : nil }
        public var tokensPerMergedLine: Double? { mergedLines > 0 ? Double(mergingTokens) / Double(mergedLines) : nil }
        public var zeroOutputShare: Double { spend > 0 ? Double(zeroOutputSpend) / Double(spend) : 0 }

        public init(
            group: String, runs: Int, runsWithOutcome: Int, outcomes: Int, spend: Int64, tokens: Int64, mergedLines: Int64, mergingTokens: Int64,
            zeroOutputRuns: Int, zeroOutputSpend: Int64
        ) {
            self.group = group
            self.runs = runs
            self.runsWithOutcome = runsWithOutcome
            self.outcomes = outcomes
            self.spend = spend
            self.tokens = tokens
            self.mergedLines = mergedLines
            self.mergingTokens = mergingTokens
            self.zeroOutputRuns = zeroOutputRuns
            self.zeroOutputSpend = zeroOutputSpend
        }
    }

    public var since: Date
    public var until: Date
    public var by: String
    /// The whole first, then each group, largest spend first.
    public var lines: [Line]

    public static func make(runs: [OutcomeReport.RunLine], outcomes: [Outcome], by: String, since: Date, until: Date) -> EfficiencyReport {
        make(tally: .of(runs: runs, outcomes: outcomes), by: by, since: since, until: until)
    }

    public static func make(tally: OutcomeTally, by: String, since: Date, until: Date) -> EfficiencyReport {
        let groups = tally.groups.sorted { ($0.spend, $1.group) > ($1.spend, $0.group) }
        return EfficiencyReport(since: since, until: until, by: by, lines: [tally.whole] + groups)
    }

    public var table: [[String]] {
        [[by, "runs", "with outcome", "spend", "cost / outcome", "tokens / merged line", "zero-output runs", "zero-output spend"]]
            + lines.map { line in
                [
                    line.group, String(line.runs), String(format: "%.1f%%", line.outcomeRate * 100), NanoUSD(line.spend).description,
                    line.costPerOutcome.map { NanoUSD($0).description } ?? "-", line.tokensPerMergedLine.map { String(format: "%.0f", $0) } ?? "-",
                    String(line.zeroOutputRuns), "\(NanoUSD(line.zeroOutputSpend)) (\(String(format: "%.0f%%", line.zeroOutputShare * 100)))",
                ]
            }
    }
}
