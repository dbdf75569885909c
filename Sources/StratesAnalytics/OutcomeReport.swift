import Foundation
import StratesCore

/// `strates report outcomes`: what the tokens produced. For runs started in the window: the
/// cost per outcome of each kind, overall and per group (workflow, team, member or model);
/// the share of runs with an outcome; tokens per merged line; and the runs that produced
/// nothing, with what they cost.
public struct OutcomeReport: Sendable {
    /// A run as the report needs it: its group and totals.
    public struct RunLine: Sendable, Equatable {
        public var run: String
        public var group: String
        public var tokens: Int64
        public var cost: Int64

        public init(run: String, group: String, tokens: Int64, cost: Int64) {
            self.run = run
            self.group = group
            self.tokens = tokens
            self.cost = cost
        }
    }

    public struct KindLine: Sendable, Equatable {
        public var kind: Outcome.Kind
        /// Nil for the kind's own line.
        public var group: String?
        public var outcomes: Int
        public var runs: Int
        public var quantity: Int64
        public var value: Int64
        /// Spend of the runs that produced outcomes of this kind.
        public var cost: Int64
        public var tokens: Int64

        public var costPerOutcome: Int64 { outcomes > 0 ? cost / Int64(outcomes) : 0 }

        public init(kind: Outcome.Kind, group: String?, outcomes: Int, runs: Int, quantity: Int64, value: Int64, cost: Int64, tokens: Int64) {
            self.kind = kind
            self.group = group
            self.outcomes = outcomes
            self.runs = runs
            self.quantity = quantity
            self.value = value
            self.cost = cost
            self.tokens = tokens
        }

        /// A line with nothing counted yet.
        public init(kind: Outcome.Kind, group: String?) {
            self.init(kind: kind, group: group, outcomes: 0, runs: 0, quantity: 0, value: 0, cost: 0, tokens: 0)
        }

        /// Counts `other`'s outcomes and runs in this line.
        public mutating func add(_ other: KindLine) {
            outcomes += other.outcomes
            runs += other.runs
            quantity += other.quantity
            value += other.value
            cost += other.cost
            tokens += other.tokens
        }
    }

    public var since: Date
    public var until: Date
    public var by: String
    public var runs: Int
    public var runsWithOutcome: Int
    public var spend: Int64
    public var kinds: [KindLine]
    /// Tokens of runs with a merge that says how many lines it merged, per such line.
    public var tokensPerMergedLine: Double?
    public var zeroOutputRuns: Int
    public var zeroOutputSpend: Int64
    /// The costliest runs without an outcome.
    public var zeroOutputTop: [RunLine]

    public static func make(runs: [RunLine], outcomes: [Outcome], by: String, since: Date, until: Date) -> OutcomeReport {
        make(tally: .of(runs: runs, outcomes: outcomes), by: by, since: since, until: until)
    }

    /// The report from its sums: each kind's own line (its groups summed), then its groups,
    /// costliest first.
    public static func make(tally: OutcomeTally, by: String, since: Date, until: Date) -> OutcomeReport {
        let whole = tally.whole
        var kinds: [KindLine] = []
        for kind in Outcome.Kind.allCases {
            let groups = tally.kinds.filter { $0.kind == kind }
            guard !groups.isEmpty else { continue }
            kinds.append(groups.reduce(into: KindLine(kind: kind, group: nil)) { $0.add($1) })
            kinds += groups.sorted { ($0.cost, $1.group ?? "") > ($1.cost, $0.group ?? "") }
        }
        return OutcomeReport(
            since: since, until: until, by: by, runs: whole.runs, runsWithOutcome: whole.runsWithOutcome, spend: whole.spend, kinds: kinds,
            tokensPerMergedLine: whole.tokensPerMergedLine, zeroOutputRuns: whole.zeroOutputRuns, zeroOutputSpend: whole.zeroOutputSpend,
            zeroOutputTop: tally.zeroOutputTop
        )
    }

    public var outcomeRate: Double { runs > 0 ? Double(runsWithOutcome) / Double(runs) : 0 }

    public var table: [[String]] {
        [["kind / \(by)", "outcomes", "runs", "quantity", "spend", "cost per outcome"]]
            + kinds.map { line in
                [
                    line.group.map { "  " + $0 } ?? line.kind.rawValue, String(line.outcomes), String(line.runs), String(line.quantity),
                    NanoUSD(line.cost).description, NanoUSD(line.costPerOutcome).description,
                ]
            }
    }
}
