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
