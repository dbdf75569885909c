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
