import Foundation
import StratesCore
import StratesLedger

/// What the outcome and efficiency reports are made from: per group (workflow, team, member
/// or model) the runs started in a window with what they spent and produced, per outcome
/// kind and group what the runs producing that kind spent, and the costliest runs that
/// produced nothing. The ledger sums it in SQL over its run profiles (a month holds hundreds
/// of thousands of runs); `of(runs:outcomes:)` is the same sum over runs in memory.
public struct OutcomeTally: Sendable, Equatable {
    /// One group's runs: the efficiency report's line.
    public typealias Group = EfficiencyReport.Line
    /// One kind and group: the outcome report's line with its group set.
    public typealias KindGroup = OutcomeReport.KindLine

    public var groups: [Group]
    public var kinds: [KindGroup]
    /// The ten costliest runs without an outcome, costliest first (ties by run).
    public var zeroOutputTop: [OutcomeReport.RunLine]

    public init(groups: [Group], kinds: [KindGroup], zeroOutputTop: [OutcomeReport.RunLine]) {
        self.groups = groups
        self.kinds = kinds
        self.zeroOutputTop = zeroOutputTop
    }

    public static let topCount = 10

    /// The tally of `runs` with the outcomes recorded for them (outcomes of other runs are
    /// left out).
    public static func of(runs: [OutcomeReport.RunLine], outcomes: [Outcome]) -> OutcomeTally {
        var builder = Builder()
        for outcome in outcomes { builder.record(run: outcome.run, kind: outcome.kind, quantity: outcome.quantity, value: outcome.value?.value) }
        for run in runs { builder.add(run) }
        return builder.tally
    }

    /// Sums runs one at a time: first every outcome that may belong to them, then the runs.
    public struct Builder: RunOutcomeSink {
        /// One run's outcomes of one kind.
        struct Made: Sendable {
            var kind: Outcome.Kind
            var count = 0
            var quantity: Int64 = 0
            var value: Int64 = 0
        }

        var made: [String: [Made]] = [:]
        var groups: [String: Group] = [:]
        var kinds: [KindKey: KindGroup] = [:]
        var top: [OutcomeReport.RunLine] = []

        public init() {}

        public mutating func record(run: String, kind: Outcome.Kind, quantity: Int64?, value: Int64?) {
            var list = made[run, default: []]
            let index =
                list.firstIndex { $0.kind == kind }
                ?? {
                    list.append(Made(kind: kind))
                    return list.count - 1
                }()
            list[index].count += 1
            list[index].quantity += quantity ?? 0
            list[index].value += value ?? 0
            made[run] = list
        }

        public mutating func add(run: String, group: String, tokens: Int64, cost: Int64) {
            add(OutcomeReport.RunLine(run: run, group: group, tokens: tokens, cost: cost))
        }

        public mutating func add(_ run: OutcomeReport.RunLine) {
            var line = groups[run.group] ?? Group(group: run.group)
            line.runs += 1
            line.spend += run.cost
            line.tokens += run.tokens
            if let list = made[run.run] {
                line.runsWithOutcome += 1
                line.outcomes += list.reduce(0) { $0 + $1.count }
                let merged = list.first { $0.kind == .merge }?.quantity ?? 0
                if merged > 0 {
                    line.mergedLines += merged
                    line.mergingTokens += run.tokens
                }
                for entry in list {
                    kinds[KindKey(kind: entry.kind, group: run.group), default: KindGroup(kind: entry.kind, group: run.group)].add(
                        KindGroup(
                            kind: entry.kind, group: run.group, outcomes: entry.count, runs: 1, quantity: entry.quantity, value: entry.value, cost: run.cost,
                            tokens: run.tokens
                        ))
                }
            } else {
                line.zeroOutputRuns += 1
                line.zeroOutputSpend += run.cost
                // The ten costliest, kept sorted; most runs are cheaper than the tenth.
                if top.count < topCount || costlierFirst(run, top[topCount - 1]) {
                    top.insert(run, at: top.firstIndex { costlierFirst(run, $0) } ?? top.count)
                    if top.count > topCount { top.removeLast() }
                }
            }
            groups[run.group] = line
        }

        public var tally: OutcomeTally { OutcomeTally(groups: Array(groups.values), kinds: Array(kinds.values), zeroOutputTop: top) }
    }

    /// The order of `zeroOutputTop`.
    public static func costlierFirst(_ a: OutcomeReport.RunLine, _ b: OutcomeReport.RunLine) -> Bool {
        (a.cost, b.run) > (b.cost, a.run)
    }

    /// The groups summed, as the line of the whole.
    public var whole: Group {
        groups.reduce(into: Group(group: "(all)")) { sum, line in
            sum.runs += line.runs
            sum.runsWithOutcome += line.runsWithOutcome
            sum.outcomes += line.outcomes
            sum.spend += line.spend
            sum.tokens += line.tokens
            sum.mergedLines += line.mergedLines
            sum.mergingTokens += line.mergingTokens
            sum.zeroOutputRuns += line.zeroOutputRuns
            sum.zeroOutputSpend += line.zeroOutputSpend
        }
    }

    struct KindKey: Hashable {
        var kind: Outcome.Kind
        var group: String
    }
}

extension EfficiencyReport.Line {
    /// A group with nothing counted yet.
    public init(group: String) {
        self.init(
            group: group, runs: 0, runsWithOutcome: 0, outcomes: 0, spend: 0, tokens: 0, mergedLines: 0, mergingTokens: 0, zeroOutputRuns: 0, zeroOutputSpend: 0
        )
    }
}
