import Foundation
import StratesCore
import Testing

/// Outcomes: read from the API's JSON and from git, matched to runs, and set against what
/// the runs cost.
@Suite struct OutcomeTests {
    @Test func outcomesAreReadWithEveryProblemNamed() throws {
        let outcome = try Outcome.make(from: ["run": "r", "kind": "merge", "ref": "#12", "quantity": 40, "value_usd": "50"], id: "o", at: Date(), source: "api")
        #expect(outcome.kind == .merge && outcome.quantity == 40 && outcome.value == NanoUSD(50_000_000_000))
        #expect(throws: RuleProblems.self) { try Outcome.make(from: ["kind": "shipped", "quantity": -1, "colour": 1], id: "o", at: Date(), source: nil) }
        do {
            _ = try Outcome.make(from: ["kind": "shipped", "quantity": -1, "colour": 1], id: "o", at: Date(), source: nil)
        } catch {
            for expected in ["'run' is required", "'kind' must be one of commit, pull_request", "unknown field 'colour'"] {
                #expect("\(error)".contains(expected), "\(error)")
            }
        }
    }

    @Test func commitsAreReadFromGitLog() throws {
        let log = "\u{1e}3f1d2c4aa\u{1f}2026-11-20T09:30:00+00:00\u{1f}run-a,run-b\n\n12\t3\tsrc/pay.py\n-\t-\tlogo.png\n"
            + "\u{1e}9e8d7c6bb\u{1f}2026-11-20T10:00:00Z\u{1f}\n\n1\t1\tREADME.md\n" + "\u{1e}broken"
        let commits = GitCommit.read(log)
        #expect(commits.count == 2)
        #expect(commits[0] == GitCommit(hash: "3f1d2c4aa", at: Date(timeIntervalSince1970: 1_795_167_000), runs: ["run-a", "run-b"], added: 12, removed: 3))
        #expect(commits[1].runs.isEmpty && commits[1].added == 1)
        let runs = [
            (run: "early", firstAt: Date(timeIntervalSince1970: 1_795_160_000), lastAt: Date(timeIntervalSince1970: 1_795_161_000)),
            (run: "late", firstAt: Date(timeIntervalSince1970: 1_795_165_000), lastAt: Date(timeIntervalSince1970: 1_795_168_000)),
            (run: "after", firstAt: Date(timeIntervalSince1970: 1_795_170_000), lastAt: Date(timeIntervalSince1970: 1_795_171_000)),
        ]
        #expect(GitCommit.inferRun(for: commits[1], among: runs, window: 7_200) == "late")
        #expect(GitCommit.inferRun(for: commits[1], among: runs, window: 60) == nil)
    }

    @Test func costPerOutcomeZeroOutputRunsAndTokensPerLine() {
        let runs = [
            OutcomeReport.RunLine(run: "a", group: "fix", tokens: 10_000, cost: 600),
            OutcomeReport.RunLine(run: "b", group: "fix", tokens: 2_000, cost: 300),
            OutcomeReport.RunLine(run: "c", group: "docs", tokens: 500, cost: 100),
        ]
        let at = Date()
        let outcomes = [
            Outcome(id: "1", at: at, run: "a", kind: .commit, ref: "x"), Outcome(id: "2", at: at, run: "a", kind: .commit, ref: "y"),
            Outcome(id: "3", at: at, run: "a", kind: .merge, ref: "#1", quantity: 50), Outcome(id: "4", at: at, run: "b", kind: .commit, ref: "z"),
        ]
        let report = OutcomeReport.make(runs: runs, outcomes: outcomes, by: "workflow", since: at, until: at)
        let commits = report.kinds.first { $0.kind == .commit && $0.group == nil }
        #expect(commits?.outcomes == 3 && commits?.cost == 900 && commits?.costPerOutcome == 300)
        #expect(report.kinds.first { $0.kind == .merge }?.costPerOutcome == 600)
        #expect(report.tokensPerMergedLine == 200 && report.runsWithOutcome == 2 && abs(report.outcomeRate - 2.0 / 3) < 1e-12)
        #expect(report.zeroOutputRuns == 1 && report.zeroOutputSpend == 100 && report.zeroOutputTop.map(\.run) == ["c"])
        #expect(report.json.contains(#""zero_output":{"runs":1"#))
    }
}
