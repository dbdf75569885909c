import Foundation
import StratesTestSupport
import StratesWire
import Testing

@testable import StratesCore

/// Runs classified from their calls: prompts, chains of people's turns, autonomous tool
/// loops (known turns, or timing where the turn is unknown).
@Suite struct WorkloadProfileTests {
    static let start = Date(timeIntervalSince1970: 1_795_132_800)

    func calls(_ turns: [Bool?], gap: Double = 2, context: Int64 = 1_000, growth: Int64 = 500) -> [RunCall] {
        RunCall.sequence(turns, start: Self.start, gap: gap, context: context, growth: growth)
    }

    @Test func runsAreClassifiedByTheirTurns() {
        let rules = WorkloadRules()
        #expect(RunProfile.make(run: "a", workflow: "w", calls: calls([false]), childRuns: 0, rules: rules).workload == .prompt)
        #expect(RunProfile.make(run: "b", workflow: "w", calls: calls([false, false, false, true]), childRuns: 0, rules: rules).workload == .chain)
        let loop = RunProfile.make(run: "c", workflow: "w", calls: calls([false, true, true, true, false, true]), childRuns: 2, rules: rules)
        #expect(loop.workload == .autonomous && loop.loopLength == 3 && loop.calls == 6 && loop.childRuns == 2)
        #expect(loop.contextGrowth == 500 && loop.tokens == 6 * 100 + (1_000 + 1_500 + 2_000 + 2_500 + 3_000 + 3_500))
        // A subagent's small call counts in the totals, not in the session's growth or loop.
        var withChild = calls([false, true, true, true, false, true])
        withChild.append(
            RunCall(started: Self.start.addingTimeInterval(100), ended: nil, context: 10, output: 5, cacheRead: 0, cost: 7, toolTurn: false, child: true))
        let parent = RunProfile.make(run: "c", workflow: "w", calls: withChild, childRuns: 1, rules: rules)
        #expect(parent.contextGrowth == 500 && parent.loopLength == 3 && parent.calls == 7 && parent.cost == 6_007 && parent.seconds == 100)
        // Two quick calls where the second goes on from a tool: not a prompt.
        #expect(RunProfile.make(run: "d", workflow: "w", calls: calls([false, true]), childRuns: 0, rules: rules).workload == .chain)
    }

    @Test func unknownTurnsAreReadFromTheGapsBetweenCalls() {
        let rules = WorkloadRules()
        let quick = RunProfile.make(run: "q", workflow: "w", calls: calls([nil, nil, nil, nil], gap: 2), childRuns: 0, rules: rules)
        #expect(quick.workload == .autonomous && quick.loopLength == 3)
        let slow = RunProfile.make(run: "s", workflow: "w", calls: calls([nil, nil, nil, nil], gap: 120), childRuns: 0, rules: rules)
        #expect(slow.workload == .chain && slow.loopLength == 0)
        var strict = WorkloadRules()
        strict.autonomousMinCalls = 10
        #expect(RunProfile.make(run: "q", workflow: "w", calls: calls([nil, nil, nil, nil]), childRuns: 0, rules: strict).workload == .chain)
    }

    @Test(arguments: [
        (#"{"messages":[{"role":"user","content":"hi"},{"role":"assistant","tool_calls":[]},{"role":"tool","content":"ok"}]}"#, ConversationTurn.tool),
        (#"{"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":"ok"}]}]}"#, .tool),
        (#"{"input":[{"type":"function_call_output","call_id":"c","output":"ok"}]}"#, .tool),
        (#"{"messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}]}"#, .human),
    ])
    func theLatestTurnIsRead(body: String, turn: ConversationTurn) {
        #expect(ConversationTurn.latest(body: Array(body.utf8)) == turn)
        #expect(ConversationTurn.latest(body: Array(#"{"input":"just text"}"#.utf8)) == nil)
    }
}
