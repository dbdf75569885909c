import ArgumentParser
import Foundation
import StratesAnalytics
import StratesCore
import StratesGateway
import StratesLedger
import StratesServer

extension StratesCommand {
    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import usage recorded outside the gateway: a team's history on day one.",
            subcommands: [ClaudeCode.self, Codex.self, LiteLLM.self, UsageExport.self]
        )

        struct ClaudeCode: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "claude-code",
                abstract: "Import Claude Code session transcripts (~/.claude/projects/**/*.jsonl) into the ledger.",
                discussion: """
                    Each model response counts once. Claude Code writes a response on several lines (one per content
                    block, and partial counts while it streams): lines sharing message.id and requestId (or, without a
                    request id, message.id within the session) are one response, and the most complete usage is kept.
                    Sessions become runs, subagents child runs; the project directory names the workflow unless
                    --workflow is given; the working directory and git branch are kept per run. Importing again adds
                    only what is new. Lines that are not JSON are counted and shown, never fatal.
                    Examples:
                      strates import claude-code --member ana --team platform
                      strates import claude-code ~/backup/claude-projects --member ana --format json
                    """
            )

            @OptionGroup var data: DataOptions
            @OptionGroup var options: ImportOptions

            func run() async throws {
                let home = ProcessInfo.processInfo.environment["HOME"] ?? NSHomeDirectory()
                try await options.run(.claudeCode, defaultRoot: (home as NSString).appendingPathComponent(".claude/projects"), data: data)
            }
        }

        struct Codex: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Import Codex CLI session logs ($CODEX_HOME/sessions/**/*.jsonl, default ~/.codex/sessions) into the ledger.",
                discussion: """
                    Each model call is the step between two token_count events' running totals (a repeated event adds
                    nothing). Input includes cached input, which is split out as cache reads; reasoning tokens are part
                    of output, not added to it. The model is the one the latest turn_context names; a token count
                    before any is reported, not guessed. Sessions become runs with their working directory and branch.
                    Examples:
                      strates import codex --member ana --team platform
                      strates import codex ~/.codex/sessions/2026/11 --format json
                    """
            )

            @OptionGroup var data: DataOptions
            @OptionGroup var options: ImportOptions

            func run() async throws {
                let environment = ProcessInfo.processInfo.environment
                let home = environment["CODEX_HOME"] ?? ((environment["HOME"] ?? NSHomeDirectory()) as NSString).appendingPathComponent(".codex")
                try await options.run(.codex, defaultRoot: (home as NSString).appendingPathComponent("sessions"), data: data)
            }
        }
    }
}

extension StratesCommand.Import {
    struct LiteLLM: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "litellm",
            abstract: "Import LiteLLM spend logs (GET /spend/logs as JSON, or the UI's CSV export) into the ledger.",
            discussion: """
                Each row is one call, identified by LiteLLM's request_id (importing twice adds nothing). Team, user,
                end user and session come from the row; --team and --member fill what it leaves empty. Cached prompt
                tokens are split out of prompt_tokens. Calls are priced from Strates' catalog; a model it has no price
                for keeps the spend LiteLLM recorded.
                Example: strates import litellm spend-logs.json --team platform
                """
        )

        @OptionGroup var data: DataOptions
        @Argument(help: "The export file.") var file: String
        @Option(help: "The team for rows without one.") var team: String?
        @Option(help: "The member for rows without a user.") var member: String?
        @Option(help: "production, sandbox or personal.") var environment: String = "production"
        @Option(help: "table or json.") var format: String = "table"

        func run() async throws {
            guard ["table", "json"].contains(format) else { throw ValidationError("--format must be table or json") }
            guard let environment = Environment(rawValue: environment) else { throw ValidationError("--environment must be production, sandbox or personal") }
            guard let bytes = FileManager.default.contents(atPath: file) else { throw ValidationError("cannot read \(file)") }
            let (configuration, ledger) = try data.openLedger(creating: true)
            let pricing = Pricing(try await StratesRuntime.catalog(configuration: configuration, store: ledger))
            let who = Attribution(organization: configuration.organization, team: team, member: member, environment: environment)
            let summary: SpendLogImport.Summary
            do {
                summary = try await SpendLogImport(attribution: who, pricing: pricing).run(Array(bytes), store: ledger)
            } catch let error as ImportError {
                throw CommandFailure(description: "\(file): \(error)")
            }
            guard format == "table" else {
                print(APIJSON.text(summary))
                return
            }
            print(
                "Read \(summary.rows) row(s): \(summary.calls) call(s); \(summary.added) added, \(summary.updated) updated, \(summary.calls - summary.added - summary.updated) already present."
            )
            print(
                "Tokens: \(summary.usage.input) input, \(summary.usage.output) output, \(summary.usage.cacheRead) cache read; cost \(summary.cost)\(summary.pricedByLiteLLM > 0 ? " (\(summary.pricedByLiteLLM) call(s) at LiteLLM's own price: no price in Strates' catalog)" : "")."
            )
            if summary.skipped > 0 {
                print("Skipped \(summary.skipped) row(s):")
                for problem in summary.problems { print("  \(problem)") }
            }
        }
    }
}

/// What every session-log import takes, and how its result is shown.
struct ImportOptions: ParsableArguments {
    @Argument(help: "Log files or folders (default: the agent's own folder).") var paths: [String] = []
    @Option(help: "The team the usage belongs to.") var team: String?
    @Option(help: "The member the usage belongs to (default: $USER).") var member: String?
    @Option(help: "production, sandbox or personal.") var environment: String = "production"
    @Option(help: "The workflow (default: the project directory's name).") var workflow: String?
    @Option(help: "table or json.") var format: String = "table"
    @Flag(help: "Read every file, also those unchanged since an earlier import into this ledger (skipped by default).") var rescan = false

    func run(_ kind: TranscriptImport.Format, defaultRoot: String, data: DataOptions) async throws {
        guard ["table", "json"].contains(format) else { throw ValidationError("--format must be table or json") }
        guard let environment = Environment(rawValue: environment) else { throw ValidationError("--environment must be production, sandbox or personal") }
        let files: [String]
        do {
            files = try TranscriptImport.transcripts(at: paths.isEmpty ? [defaultRoot] : paths)
        } catch {
            throw CommandFailure(description: "\(error)" + (paths.isEmpty ? " (give the folder holding the session logs)" : ""))
        }
        let (configuration, ledger) = try data.openLedger(creating: true)
        let pricing = Pricing(try await StratesRuntime.catalog(configuration: configuration, store: ledger))
        let who = Attribution(
            organization: configuration.organization, team: team, member: member ?? ProcessInfo.processInfo.environment["USER"],
            environment: environment, workflow: workflow
        )
        var lastShown = Date()
        var importer = TranscriptImport(format: kind, attribution: who, pricing: pricing)
        importer.skipUnchangedFiles = !rescan
        let summary = try await importer.run(files: files, store: ledger) { done, calls in
            // Progress on standard error, at most twice a second, so long imports show they are alive.
            guard Date().timeIntervalSince(lastShown) > 0.5 || done == files.count else { return }
            lastShown = Date()
            FileHandle.standardError.write(Data("reading session logs: \(done)/\(files.count) files, \(calls) model calls\n".utf8))
        } finishing: { bulk in
            if bulk { FileHandle.standardError.write(Data("all read; building the ledger's indexes and committing\n".utf8)) }
        }
        if format == "json" {
            print(APIJSON.text(summary))
            return
        }
        if summary.unchangedFiles > 0 {
            print("Skipped \(summary.unchangedFiles) of \(summary.files) file(s), unchanged since an earlier import (--rescan reads them again).")
        }
        print(
            "Read \(summary.files - summary.unchangedFiles) file(s), \(summary.lines) line(s): \(summary.responses) model call(s) in \(summary.sessions) session(s) (\(summary.duplicates) duplicate line(s) folded)."
        )
        print(
            "Ledger: \(summary.added) added, \(summary.updated) updated with more complete usage, \(summary.unchanged) already present\(summary.bulk ? " (written in bulk: the ledger held no request)" : "")."
        )
        print(
            "Tokens: \(summary.usage.input) input, \(summary.usage.output) output, \(summary.usage.cacheRead) cache read, \(summary.usage.cacheWrite5m + summary.usage.cacheWrite1h) cache write; cost \(summary.cost)\(summary.unpricedResponses > 0 ? " (\(summary.unpricedResponses) call(s) of unpriced models not counted)" : "")."
        )
        if summary.malformed > 0 {
            print("Skipped \(summary.malformed) malformed line(s):")
            for problem in summary.problems { print("  \(problem)") }
        }
    }
}
