import ArgumentParser
import Foundation
import StratesAnalytics
import StratesCore
import StratesGateway
import StratesLedger
import StratesServer

extension StratesCommand {
    struct Outcomes: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "What runs produced: commits, pull requests, merges, deployments, tests passing.",
            subcommands: [Record.self, List.self, ImportGit.self]
        )

        struct Record: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Record an outcome of a run.",
                discussion: """
                    The same run, kind and reference is recorded once. Examples:
                      strates outcomes record --run run-42 --kind commit --ref 3f1d2c4 --quantity 120
                      strates outcomes record --run run-42 --kind deployment --ref prod-2026-11-23 --value-usd 50
                    """
            )

            @OptionGroup var data: DataOptions
            @Option(help: "The run that produced it.") var run: String
            @Option(help: "commit, pull_request, merge, deployment, tests_passed or custom.") var kind: String
            @Option(help: "A commit hash, PR number or URL, deployment id.") var ref: String?
            @Option(help: "Lines changed, tests passed, ….") var quantity: Int64?
            @Option(help: "What it is worth to the team, in dollars.") var valueUsd: String?

            func run() async throws {
                var object: [String: Any] = ["run": run, "kind": kind]
                if let ref { object["ref"] = ref }
                if let quantity { object["quantity"] = quantity }
                if let valueUsd { object["value_usd"] = valueUsd }
                let outcome: Outcome
                do {
                    outcome = try Outcome.make(from: object, id: "out_" + KeySecrets.randomHex(8), at: Date(), source: "cli")
                } catch {
                    throw CommandFailure(description: "the outcome is not valid: \(error)")
                }
                let (_, ledger) = try data.openLedger(creating: true)
                guard try await !ledger.teams(ofRun: run).isEmpty else {
                    throw CommandFailure(description: "no run '\(run)' in the ledger (runs come from x-strates-run or the agent's session id)")
                }
                let added = try await ledger.record(outcome)
                print(
                    added
                        ? "Recorded \(outcome.kind.rawValue) for run '\(run)' (\(outcome.id))."
                        : "Run '\(run)' already has this \(outcome.kind.rawValue); nothing added.")
            }
        }

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List a run's outcomes.")

            @OptionGroup var data: DataOptions
            @Option(help: "The run.") var run: String

            func run() async throws {
                let (_, ledger) = try data.openLedger()
                let outcomes = try await ledger.outcomes(run: run)
                if outcomes.isEmpty { print("No outcomes for run '\(run)'.") }
                for outcome in outcomes {
                    print(
                        "\(BudgetText.timestamp(outcome.at))  \(outcome.kind.rawValue)  \(outcome.ref ?? "-")  \(outcome.quantity.map(String.init) ?? "-")\(outcome.inferred ? "  (inferred)" : "")"
                    )
                }
            }
        }
    }
}

extension StratesCommand.Outcomes {
    struct ImportGit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import-git",
            abstract: "Record a repository's commits as outcomes of the runs that made them.",
            discussion: """
                A commit with a 'Strates-Run: RUN' trailer is recorded as a commit outcome of that run, with the lines
                it added and removed as its quantity. With --branch, commits without a trailer are matched to a run seen
                on that branch (from imported session logs) whose last call came at most --window-hours before the
                commit, and marked inferred. Importing again adds nothing.
                Examples:
                  strates outcomes import-git ~/src/checkout-api --since 30d
                  strates outcomes import-git . --branch feature/retry --window-hours 2
                """
        )

        @OptionGroup var data: DataOptions
        @Argument(help: "The repository.") var repository: String
        @Option(help: "Commits since: 30d, or a date (2026-11-01).") var since: String = "30d"
        @Option(help: "Match commits without a trailer on this branch to runs seen on it.") var branch: String?
        @Option(help: "How long after a run's last call a commit may still be its own.") var windowHours: Double = 2

        func run() async throws {
            guard let start = UsageReport.parseSince(since) else { throw ValidationError("--since must be like 30d or 2026-11-01") }
            var arguments = ["-C", repository, "log", "--no-merges", "--numstat", "--format=\(GitCommit.logFormat)", "--since=\(BudgetText.timestamp(start))"]
            if let branch { arguments.append(branch) }
            let git = Process()
            git.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            git.arguments = ["git"] + arguments
            let output = Pipe()
            let errors = Pipe()
            git.standardOutput = output
            git.standardError = errors
            do { try git.run() } catch { throw CommandFailure(description: "cannot run git: \(error)") }
            let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            git.waitUntilExit()
            guard git.terminationStatus == 0 else {
                let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                throw CommandFailure(description: "git log failed in \(repository): \(message)")
            }
            let commits = GitCommit.read(text)
            let (_, ledger) = try data.openLedger()
            var candidates: [(run: String, firstAt: Date, lastAt: Date)] = []
            if let branch { candidates = try await ledger.runContexts(branch: branch).map { ($0.run, $0.firstAt, $0.lastAt) } }
            var (named, inferred, unknownRuns, already, unmatched) = (0, 0, Set<String>(), 0, 0)
            for commit in commits {
                var links = commit.runs.map { ($0, false) }
                if links.isEmpty, let run = GitCommit.inferRun(for: commit, among: candidates, window: windowHours * 3_600) { links = [(run, true)] }
                if links.isEmpty { unmatched += 1 }
                for (run, guessed) in links {
                    guard try await !ledger.teams(ofRun: run).isEmpty else {
                        unknownRuns.insert(run)
                        continue
                    }
                    let outcome = Outcome(
                        id: "out_" + KeySecrets.randomHex(8), at: commit.at, run: run, kind: .commit, ref: commit.hash,
                        quantity: commit.added + commit.removed, inferred: guessed, source: "git"
                    )
                    if try await ledger.record(outcome) {
                        if guessed { inferred += 1 } else { named += 1 }
                    } else {
                        already += 1
                    }
                }
            }
            print(
                "Read \(commits.count) commit(s): \(named) recorded from Strates-Run trailers, \(inferred) matched by branch and time (inferred), \(already) already recorded, \(unmatched) with no run."
            )
            if !unknownRuns.isEmpty { print("Trailers naming runs not in the ledger: \(unknownRuns.sorted().joined(separator: ", ")).") }
        }
    }
}
