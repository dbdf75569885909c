import Foundation
import StratesCore
import StratesGateway
import Testing

@testable import StratesAnalytics
@testable import StratesServer

/// Outcomes: read from the API's JSON and from git, matched to runs, and set against what
/// the runs cost.
@Suite struct OutcomeTests {
    @Test func outcomesAreReadWithEveryProblemNamed() throws {
        let outcome = try Outcome.make(
            from: ["run": "r", "kind": "merge", "ref": "#12", "quantity": 40, "value_usd": "50"], id: "o", at: Date(), source: "api")
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
        let log =
            "\u{1e}3f1d2c4aa\u{1f}2026-11-20T09:30:00+00:00\u{1f}run-a,run-b\n\n12\t3\tsrc/pay.py\n-\t-\tlogo.png\n"
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

    @Test func costPerOutcomeZeroOutputRunsAndTokensPerLine() throws {
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
        let json = try JSONSerialization.jsonObject(with: Data(APIJSON.text(report).utf8)) as? [String: Any]
        #expect((json?["zero_output"] as? [String: Any])?["runs"] as? Int == 1)
    }
}

@Suite struct GitHubOutcomeTests {
    nonisolated(unsafe) static let merged: [String: Any] = [
        "action": "closed", "repository": ["full_name": "acme/checkout-api"],
        "pull_request": [
            "number": 12, "merged": true, "merged_at": "2026-11-20T11:00:00Z", "created_at": "2026-11-20T10:00:00Z", "title": "Retry payments",
            "body": "Fixes #9.\n\nStrates-Run: run-a\nstrates-run: run-b\nStrates-Run: run-a", "additions": 30, "deletions": 4,
            "head": ["ref": "feature/retry"],
        ],
    ]

    @Test func pullRequestsAndDeploymentsBecomeOutcomes() throws {
        let merge = try GitHubOutcome.read(event: "pull_request", payload: Self.merged).get()
        #expect(
            merge
                == GitHubOutcome(
                    kind: .merge, ref: "acme/checkout-api#12", quantity: 34, at: Date(timeIntervalSince1970: 1_795_172_400), runs: ["run-a", "run-b"],
                    branch: "feature/retry", repository: "acme/checkout-api"))
        var opened = Self.merged
        opened["action"] = "opened"
        #expect(try GitHubOutcome.read(event: "pull_request", payload: opened).get().kind == .pullRequest)
        var closed = Self.merged
        var pull = closed["pull_request"] as! [String: Any]
        pull["merged"] = false
        closed["pull_request"] = pull
        guard case .failure(let ignored) = GitHubOutcome.read(event: "pull_request", payload: closed) else {
            Issue.record("a closed, unmerged PR is no outcome")
            return
        }
        #expect(ignored.reason.contains("'closed' is not an outcome"))
        let deployed: [String: Any] = [
            "deployment_status": ["state": "success", "created_at": "2026-11-20T12:00:00Z"],
            "deployment": ["id": 77, "environment": "production", "ref": "main"], "repository": ["full_name": "acme/infra"],
        ]
        #expect(
            try GitHubOutcome.read(event: "deployment_status", payload: deployed).get()
                == GitHubOutcome(
                    kind: .deployment, ref: "production/77", quantity: nil, at: Date(timeIntervalSince1970: 1_795_176_000), runs: [], branch: "main",
                    repository: "acme/infra"))
        guard case .failure = GitHubOutcome.read(event: "issues", payload: [:]) else {
            Issue.record("issues events are not outcomes")
            return
        }
    }

    /// A repository's deliveries attach outcomes only to runs of the teams it is mapped to,
    /// by its most specific key; an unmapped repository attaches nothing.
    @Test func repositoriesNameTheTeamsWhoseRunsTheyMayClaim() {
        let map = RepositoryTeams(["acme/checkout-api": ["payments"], "acme/*": ["platform"], "Other/Tools": ["*"]])
        #expect(map.allows(runTeams: ["payments"], from: "acme/checkout-api"))
        #expect(!map.allows(runTeams: ["platform"], from: "acme/checkout-api"), "the exact key wins over acme/*")
        #expect(map.allows(runTeams: ["platform"], from: "ACME/infra"))
        #expect(!map.allows(runTeams: ["platform", "payments"], from: "acme/infra"), "a run spanning an unmapped team")
        #expect(!map.allows(runTeams: [nil], from: "acme/infra"))
        #expect(map.allows(runTeams: [nil, "anyone"], from: "other/tools"))
        #expect(!map.allows(runTeams: ["platform"], from: "evil/acme"))
        #expect(!map.allows(runTeams: ["platform"], from: nil))
        #expect(!map.allows(runTeams: [], from: "acme/infra"), "a run with no requests")
        #expect(RepositoryTeams(["*": ["platform"]]).allows(runTeams: ["platform"], from: nil))
        for bad in ["acme", "/x", "acme/", "a*/b", "acme/x*", "a/b/c"] { #expect(RepositoryTeams.keyProblem(bad) != nil, "\(bad)") }
        for good in ["acme/x", "acme/*", "*"] { #expect(RepositoryTeams.keyProblem(good) == nil) }
    }

    @Test func deliveriesAreCheckedAgainstTheSecret() {
        let body = Array(#"{"zen":"Design for failure."}"#.utf8)
        let signature = KeySecrets.gitHubSignature(body, secret: "s3cret")
        #expect(KeySecrets.validGitHubSignature(signature, body: body, secret: "s3cret"))
        #expect(!KeySecrets.validGitHubSignature(signature, body: body + [0x20], secret: "s3cret"))
        #expect(!KeySecrets.validGitHubSignature(signature, body: body, secret: "other"))
        #expect(
            !KeySecrets.validGitHubSignature(nil, body: body, secret: "s3cret") && !KeySecrets.validGitHubSignature("sha256=zz", body: body, secret: "s3cret"))
    }
}

@Suite struct EfficiencyReportTests {
    @Test func perGroupRatesCostsAndZeroOutputSpend() throws {
        let runs = [
            OutcomeReport.RunLine(run: "a", group: "opus", tokens: 10_000, cost: 900),
            OutcomeReport.RunLine(run: "b", group: "opus", tokens: 4_000, cost: 300),
            OutcomeReport.RunLine(run: "c", group: "haiku", tokens: 500, cost: 60),
            OutcomeReport.RunLine(run: "d", group: "haiku", tokens: 700, cost: 40),
        ]
        let at = Date()
        let outcomes = [
            Outcome(id: "1", at: at, run: "a", kind: .commit, ref: "x"), Outcome(id: "2", at: at, run: "a", kind: .merge, ref: "#1", quantity: 50),
            Outcome(id: "3", at: at, run: "c", kind: .testsPassed, ref: "ci"),
        ]
        let report = EfficiencyReport.make(runs: runs, outcomes: outcomes, by: "model", since: at, until: at)
        #expect(report.lines.map(\.group) == ["(all)", "opus", "haiku"])
        let opus = report.lines[1]
        #expect(opus.runs == 2 && opus.runsWithOutcome == 1 && opus.outcomes == 2 && opus.costPerOutcome == 600)
        #expect(opus.tokensPerMergedLine == 200 && opus.zeroOutputRuns == 1 && opus.zeroOutputSpend == 300)
        let haiku = report.lines[2]
        #expect(haiku.outcomeRate == 0.5 && haiku.costPerOutcome == 100 && haiku.tokensPerMergedLine == nil)
        let whole = report.lines[0]
        #expect(whole.spend == 1_300 && whole.outcomes == 3 && whole.zeroOutputSpend == 340 && abs(whole.zeroOutputShare - 340.0 / 1_300) < 1e-12)
        #expect(APICSV.text(report).split(separator: "\n").count == 4)
        let json = try JSONSerialization.jsonObject(with: Data(APIJSON.text(report).utf8)) as? [String: Any]
        let lines = json?["lines"] as? [[String: Any]] ?? []
        let written = try #require(lines.first { $0["model"] as? String == "haiku" })
        #expect(written["runs"] as? Int == 2)
        #expect(written["runs_with_outcome"] as? Int == 1)
        #expect(written["outcome_rate"] as? Double == 0.5)
    }
}
