import Foundation
import StratesCore
import StratesLedger

/// `strates report workloads`: per class, and per class and workflow, runs and their spread.
public struct WorkloadReport: Sendable {
    public struct Spread: Sendable, Equatable {
        public var p50: Double
        public var p90: Double
        public var max: Double

        /// The median, 90th percentile (nearest rank) and maximum. Each rank is selected in
        /// linear time rather than by sorting: a month can hold hundreds of thousands of runs.
        static func of(_ values: [Double]) -> Spread {
            guard !values.isEmpty else { return Spread(p50: 0, p90: 0, max: 0) }
            var work = values
            func at(_ q: Double) -> Double { select(&work, rank: min(work.count - 1, Int((q * Double(work.count - 1)).rounded()))) }
            return Spread(p50: at(0.5), p90: at(0.9), max: values.max() ?? 0)
        }

        /// The value that would be at `rank` if `values` were sorted (quickselect; reorders `values`).
        static func select(_ values: inout [Double], rank: Int) -> Double {
            var low = 0
            var high = values.count - 1
            var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
            while low < high {
                seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                let pivot = values[low + Int((seed >> 33) % UInt64(high - low + 1))]
                var i = low
                var j = high
                while i <= j {
                    while values[i] < pivot { i += 1 }
                    while values[j] > pivot { j -= 1 }
                    if i <= j {
                        values.swapAt(i, j)
                        i += 1
                        j -= 1
                    }
                }
                if rank <= j {
                    high = j
                } else if rank >= i {
                    low = i
                } else {
                    return values[rank]
                }
            }
            return values[rank]
        }
    }

    public struct Line: Sendable, Equatable {
        public var workload: WorkloadClass
        /// Nil for the class's own line.
        public var workflow: String?
        public var runs: Int
        public var calls: Spread
        public var tokens: Spread
        public var cost: Spread
        public var contextGrowth: Double
        public var cacheReadShare: Double
        public var outputInputRatio: Double
        public var loopLength: Spread
        public var seconds: Spread
        public var spend: Int64

        static func make(_ workload: WorkloadClass, workflow: String?, _ samples: Samples) -> Line {
            Line(
                workload: workload, workflow: workflow, runs: samples.calls.count, calls: .of(samples.calls), tokens: .of(samples.tokens),
                cost: .of(samples.cost), contextGrowth: samples.growths.isEmpty ? 0 : Spread.of(samples.growths).p50,
                cacheReadShare: samples.context > 0 ? Double(samples.cacheRead) / Double(samples.context) : 0,
                outputInputRatio: samples.context > 0 ? Double(samples.output) / Double(samples.context) : 0,
                loopLength: .of(samples.loopLengths), seconds: .of(samples.seconds), spend: samples.spend
            )
        }
    }

    /// What one line's spreads and shares are made from: each run's measures, appended as
    /// runs are read.
    struct Samples: Sendable {
        var calls: [Double] = []
        var tokens: [Double] = []
        var cost: [Double] = []
        var growths: [Double] = []
        var loopLengths: [Double] = []
        var seconds: [Double] = []
        var context: Int64 = 0
        var cacheRead: Int64 = 0
        var output: Int64 = 0
        var spend: Int64 = 0

        mutating func add(_ run: RunProfile) {
            calls.append(Double(run.calls))
            tokens.append(Double(run.tokens))
            cost.append(Double(run.cost))
            if run.calls > 1 { growths.append(run.contextGrowth) }
            loopLengths.append(Double(run.loopLength))
            seconds.append(run.seconds)
            context += run.context
            cacheRead += run.cacheRead
            output += run.output
            spend += run.cost
        }
    }

    /// Builds the report one run at a time: a month's runs are never all in memory.
    public struct Builder: RunProfileSink {
        struct Key: Hashable {
            var workload: WorkloadClass
            var workflow: String
        }

        var classes: [WorkloadClass: Samples] = [:]
        var workflows: [Key: Samples] = [:]

        public init() {}

        public mutating func add(_ run: RunProfile) {
            classes[run.workload, default: Samples()].add(run)
            workflows[Key(workload: run.workload, workflow: run.workflow), default: Samples()].add(run)
        }

        /// Per class, its own line then its workflows, largest spend first.
        public func report(callsWithoutRun: Int64, rules: WorkloadRules, since: Date, until: Date) -> WorkloadReport {
            var lines: [Line] = []
            for workload in WorkloadClass.allCases {
                guard let samples = classes[workload] else { continue }
                lines.append(.make(workload, workflow: nil, samples))
                lines += workflows.filter { $0.key.workload == workload }.map { Line.make(workload, workflow: $0.key.workflow, $0.value) }
                    .sorted { ($0.spend, $1.workflow ?? "") > ($1.spend, $0.workflow ?? "") }
            }
            return WorkloadReport(since: since, until: until, rules: rules, lines: lines, callsWithoutRun: callsWithoutRun)
        }
    }

    public var since: Date
    public var until: Date
    public var rules: WorkloadRules
    public var lines: [Line]
    /// Calls that belong to no run: not profiled.
    public var callsWithoutRun: Int64

    public static func make(runs: [RunProfile], callsWithoutRun: Int64, rules: WorkloadRules, since: Date, until: Date) -> WorkloadReport {
        var builder = Builder()
        for run in runs { builder.add(run) }
        return builder.report(callsWithoutRun: callsWithoutRun, rules: rules, since: since, until: until)
    }

    public var json: String {
        func spread(_ value: Spread, money: Bool = false) -> String {
            money
                ? #"{"p50_usd":\#(JSONText.quote(NanoUSD(Int64(value.p50)).dollars)),"p90_usd":\#(JSONText.quote(NanoUSD(Int64(value.p90)).dollars)),"max_usd":\#(JSONText.quote(NanoUSD(Int64(value.max)).dollars))}"#
                : #"{"p50":\#(Self.round(value.p50)),"p90":\#(Self.round(value.p90)),"max":\#(Self.round(value.max))}"#
        }
        let items = lines.map { line in
            "{"
                + [
                    #""class":"\#(line.workload.rawValue)""#, #""workflow":\#(line.workflow.map(JSONText.quote) ?? "null")"#, #""runs":\#(line.runs)"#,
                    #""calls_per_run":\#(spread(line.calls))"#, #""tokens_per_run":\#(spread(line.tokens))"#,
                    #""cost_per_run":\#(spread(line.cost, money: true))"#,
                    #""context_growth_per_step":\#(Self.round(line.contextGrowth))"#, #""cache_read_share":\#(Self.round(line.cacheReadShare, 4))"#,
                    #""output_input_ratio":\#(Self.round(line.outputInputRatio, 4))"#, #""loop_length":\#(spread(line.loopLength))"#,
                    #""duration_seconds":\#(spread(line.seconds))"#, #""spend_usd":\#(JSONText.quote(NanoUSD(line.spend).dollars))"#,
                ].joined(separator: ",") + "}"
        }
        let rules =
            #"{"prompt_max_calls":\#(self.rules.promptMaxCalls),"autonomous_tool_share":\#(self.rules.autonomousToolShare),"autonomous_min_calls":\#(self.rules.autonomousMinCalls),"human_gap_seconds":\#(self.rules.humanGapSeconds)}"#
        return
            #"{"since":\#(JSONText.quote(BudgetText.timestamp(since))),"until":\#(JSONText.quote(BudgetText.timestamp(until))),"rules":\#(rules),"calls_without_run":\#(callsWithoutRun),"lines":[\#(items.joined(separator: ","))]}"#
    }

    public var csv: String {
        CSVText.document(
            header: [
                "class", "workflow", "runs", "calls_p50", "calls_p90", "calls_max", "tokens_p50", "tokens_p90", "tokens_max", "cost_p50_usd", "cost_p90_usd",
                "cost_max_usd", "context_growth_per_step", "cache_read_share", "output_input_ratio", "loop_p50", "loop_max", "duration_p50_s", "duration_p90_s",
                "spend_usd",
            ],
            rows: lines.map { line in
                [
                    line.workload.rawValue, line.workflow ?? "", String(line.runs), Self.whole(line.calls.p50), Self.whole(line.calls.p90),
                    Self.whole(line.calls.max),
                    Self.whole(line.tokens.p50), Self.whole(line.tokens.p90), Self.whole(line.tokens.max), NanoUSD(Int64(line.cost.p50)).dollars,
                    NanoUSD(Int64(line.cost.p90)).dollars, NanoUSD(Int64(line.cost.max)).dollars, Self.round(line.contextGrowth),
                    Self.round(line.cacheReadShare, 4),
                    Self.round(line.outputInputRatio, 4), Self.whole(line.loopLength.p50), Self.whole(line.loopLength.max), Self.round(line.seconds.p50),
                    Self.round(line.seconds.p90), NanoUSD(line.spend).dollars,
                ]
            }
        )
    }

    public var table: [[String]] {
        var rows = [
            [
                "class / workflow", "runs", "calls p50/p90/max", "tokens p50", "cost p50/p90/max", "context +/step", "cache read", "out/in", "loop p50/max",
                "duration p50",
            ]
        ]
        for line in lines {
            rows.append([
                line.workflow.map { "  " + $0 } ?? line.workload.rawValue, String(line.runs),
                "\(Int(line.calls.p50))/\(Int(line.calls.p90))/\(Int(line.calls.max))", String(Int64(line.tokens.p50)),
                "\(NanoUSD(Int64(line.cost.p50)))/\(NanoUSD(Int64(line.cost.p90)))/\(NanoUSD(Int64(line.cost.max)))",
                String(Int64(line.contextGrowth.rounded())), String(format: "%.1f%%", line.cacheReadShare * 100), String(format: "%.3f", line.outputInputRatio),
                "\(Int(line.loopLength.p50))/\(Int(line.loopLength.max))", String(format: "%.0fs", line.seconds.p50),
            ])
        }
        return rows
    }

    /// Counts (calls, tokens, loop lengths) are whole numbers: a rank of whole values.
    static func whole(_ value: Double) -> String { String(Int64(value.rounded())) }

    static func round(_ value: Double, _ places: Double = 1) -> String {
        let scale = pow(10, places)
        return String((value * scale).rounded() / scale)
    }
}
