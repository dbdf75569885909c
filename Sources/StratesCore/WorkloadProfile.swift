import Foundation

/// What is actually being run: each run (an agent session with its subagents) classified as
/// a `prompt`, a `chain` or an `autonomous` loop, and per class and workflow how big and how
/// costly runs are, how their context grows and how long their loops go.
public enum WorkloadClass: String, Sendable, CaseIterable {
    /// One or two calls, no tool loop.
    case prompt
    /// Several calls driven by people's turns, or a fixed sequence.
    case chain
    /// A tool-use loop: most calls go on from a tool's result, with few human turns.
    case autonomous
}

/// The thresholds of the classification (configurable under `workloads:`).
public struct WorkloadRules: Sendable, Equatable {
    /// At most this many calls, with no tool turn: a prompt.
    public var promptMaxCalls = 2
    /// At least this share of calls going on from a tool's result ...
    public var autonomousToolShare = 0.5
    /// ... and at least this many calls: autonomous.
    public var autonomousMinCalls = 3
    /// Where a call's latest turn is unknown (imported history), a call starting within this
    /// many seconds of the previous one's end is taken as the loop's, not a person's.
    public var humanGapSeconds = 20.0

    public init() {}

    public static let keys = ["prompt_max_calls", "autonomous_tool_share", "autonomous_min_calls", "human_gap_seconds"]
}

/// One model call of a run, as the profile needs it.
public struct RunCall: Sendable, Equatable {
    public var started: Date
    public var ended: Date?
    /// Input of every kind (fresh, cache reads and writes): the context the model was sent.
    public var context: Int64
    public var output: Int64
    public var cacheRead: Int64
    public var cost: Int64
    /// Whether the call went on from a tool's result; nil when unknown.
    public var toolTurn: Bool?
    public var process: String?
    /// A subagent's call: it counts in the run's totals, not in its own turn sequence.
    public var child: Bool

    public init(
        started: Date, ended: Date?, context: Int64, output: Int64, cacheRead: Int64, cost: Int64, toolTurn: Bool?, process: String? = nil, child: Bool = false
    ) {
        self.child = child
        self.started = started
        self.ended = ended
        self.context = context
        self.output = output
        self.cacheRead = cacheRead
        self.cost = cost
        self.toolTurn = toolTurn
        self.process = process
    }
}

/// One run, classified, with its measures.
public struct RunProfile: Sendable, Equatable {
    public var run: String
    public var workflow: String
    public var workload: WorkloadClass
    public var calls: Int
    public var tokens: Int64
    public var cost: Int64
    public var seconds: Double
    /// Average growth of the context from one call to the next (tokens per step).
    public var contextGrowth: Double
    public var cacheRead: Int64
    public var context: Int64
    public var output: Int64
    /// The longest stretch of calls going on from tool results.
    public var loopLength: Int
    public var childRuns: Int

    public init(
        run: String, workflow: String, workload: WorkloadClass, calls: Int, tokens: Int64, cost: Int64, seconds: Double, contextGrowth: Double,
        cacheRead: Int64, context: Int64, output: Int64, loopLength: Int, childRuns: Int
    ) {
        self.run = run
        self.workflow = workflow
        self.workload = workload
        self.calls = calls
        self.tokens = tokens
        self.cost = cost
        self.seconds = seconds
        self.contextGrowth = contextGrowth
        self.cacheRead = cacheRead
        self.context = context
        self.output = output
        self.loopLength = loopLength
        self.childRuns = childRuns
    }

    /// Classifies `calls` (in time order; subagents' calls included) by `rules`: turns, loops
    /// and context growth are read from the run's own calls, totals from all of them.
    public static func make(run: String, workflow: String, calls all: [RunCall], childRuns: Int, rules: WorkloadRules) -> RunProfile {
        let calls = all.filter { !$0.child }
        var toolTurns = 0
        var streak = 0
        var longest = 0
        for (index, call) in calls.enumerated() {
            let tool: Bool
            if let known = call.toolTurn {
                tool = known
            } else if index > 0, let previousEnd = calls[index - 1].ended ?? Optional(calls[index - 1].started) {
                tool = call.started.timeIntervalSince(previousEnd) <= rules.humanGapSeconds
            } else {
                tool = false
            }
            if tool {
                toolTurns += 1
                streak += 1
                longest = max(longest, streak)
            } else {
                streak = 0
            }
        }
        let workload: WorkloadClass =
            if all.count <= rules.promptMaxCalls && toolTurns == 0 {
                .prompt
            } else if calls.count >= rules.autonomousMinCalls && Double(toolTurns) >= rules.autonomousToolShare * Double(calls.count) {
                .autonomous
            } else {
                .chain
            }
        let first = all.map(\.started).min() ?? Date()
        let last = all.map { $0.ended ?? $0.started }.max() ?? first
        let steps = zip(calls, calls.dropFirst()).map { Double($1.context - $0.context) }
        let context = all.reduce(0) { $0 + $1.context }
        let output = all.reduce(0) { $0 + $1.output }
        return RunProfile(
            run: run, workflow: workflow, workload: workload, calls: all.count, tokens: context + output, cost: all.reduce(0) { $0 + $1.cost },
            seconds: last.timeIntervalSince(first), contextGrowth: steps.isEmpty ? 0 : steps.reduce(0, +) / Double(steps.count),
            cacheRead: all.reduce(0) { $0 + $1.cacheRead }, context: context, output: output, loopLength: longest, childRuns: childRuns
        )
    }
}

extension RunProfile {
    /// One call of a top-level run as the ledger holds it: the run it was made in (the
    /// session itself, or one of its subagents) and that run's workflow.
    public struct Call: Sendable {
        public var run: String
        public var workflow: String?
        public var call: RunCall

        public init(run: String, workflow: String?, call: RunCall) {
            self.run = run
            self.workflow = workflow
            self.call = call
        }
    }

    /// The profile of top-level run `root` from all its calls in time order: the session's
    /// own workflow (its subagents inherit it), subagents' calls counted as children.
    public static func make(root: String, calls group: [Call], rules: WorkloadRules) -> RunProfile {
        let workflow = group.first { $0.run == root }?.workflow ?? group.first?.workflow ?? "(none)"
        let children = Set(group.map(\.run)).subtracting([root]).count
        let calls = group.map { row in
            var call = row.call
            call.child = row.run != root
            return call
        }
        return make(run: root, workflow: workflow, calls: calls, childRuns: children, rules: rules)
    }
}

extension WorkloadRules {
    /// The rules as text, kept with each stored profile: profiles made under other rules are
    /// made again.
    public var fingerprint: String { "\(promptMaxCalls)/\(autonomousToolShare)/\(autonomousMinCalls)/\(humanGapSeconds)" }

    /// The rules a fingerprint was made from; nil for anything else.
    public init?(fingerprint: String) {
        let parts = fingerprint.split(separator: "/").map(String.init)
        guard parts.count == 4, let prompt = Int(parts[0]), let share = Double(parts[1]), let minimum = Int(parts[2]), let gap = Double(parts[3]) else {
            return nil
        }
        self.init()
        promptMaxCalls = prompt
        autonomousToolShare = share
        autonomousMinCalls = minimum
        humanGapSeconds = gap
    }
}

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
    public struct Builder: Sendable {
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
