import ArgumentParser
import Foundation
import StratesCore
import StratesGateway
import StratesServer

extension StratesCommand {
    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import usage recorded outside the gateway: a team's history on day one.",
            subcommands: [ClaudeCode.self]
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
            @Argument(help: "Transcript files or folders (default: ~/.claude/projects).") var paths: [String] = []
            @Option(help: "The team the usage belongs to.") var team: String?
            @Option(help: "The member the usage belongs to (default: $USER).") var member: String?
            @Option(help: "production, sandbox or personal.") var environment: String = "production"
            @Option(help: "The workflow (default: the project directory's name).") var workflow: String?
            @Option(help: "table or json.") var format: String = "table"

            func run() async throws {
                guard ["table", "json"].contains(format) else { throw ValidationError("--format must be table or json") }
                guard let environment = Environment(rawValue: environment) else { throw ValidationError("--environment must be production, sandbox or personal") }
                let home = ProcessInfo.processInfo.environment["HOME"] ?? NSHomeDirectory()
                let roots = paths.isEmpty ? [(home as NSString).appendingPathComponent(".claude/projects")] : paths
                let files: [String]
                do {
                    files = try ClaudeCodeImport.transcripts(at: roots)
                } catch {
                    throw CommandFailure(description: "\(error)" + (paths.isEmpty ? " (give the folder holding Claude Code's projects)" : ""))
                }
                let (configuration, ledger) = try data.openLedger()
                let pricing = Pricing(try await StratesRuntime.catalog(configuration: configuration, store: ledger))
                let who = Attribution(
                    organization: configuration.organization, team: team, member: member ?? ProcessInfo.processInfo.environment["USER"],
                    environment: environment, workflow: workflow
                )
                var lastShown = Date()
                let summary = try await ClaudeCodeImport(attribution: who, pricing: pricing).run(files: files, store: ledger) { done, responses in
                    // Progress on standard error, at most twice a second, so long imports show they are alive.
                    guard Date().timeIntervalSince(lastShown) > 0.5 || done == files.count else { return }
                    lastShown = Date()
                    FileHandle.standardError.write(Data("reading transcripts: \(done)/\(files.count) files, \(responses) responses\n".utf8))
                }
                if format == "json" {
                    print(summary.json)
                    return
                }
                print("Read \(summary.files) file(s), \(summary.lines) line(s): \(summary.responses) response(s) in \(summary.sessions) session(s) (\(summary.duplicates) duplicate line(s) folded).")
                print("Ledger: \(summary.added) added, \(summary.updated) updated with more complete usage, \(summary.unchanged) already present.")
                print("Tokens: \(summary.usage.input) input, \(summary.usage.output) output, \(summary.usage.cacheRead) cache read, \(summary.usage.cacheWrite5m + summary.usage.cacheWrite1h) cache write; cost \(summary.cost)\(summary.unpricedResponses > 0 ? " (\(summary.unpricedResponses) response(s) of unpriced models not counted)" : "").")
                if summary.malformed > 0 {
                    print("Skipped \(summary.malformed) malformed line(s):")
                    for problem in summary.problems { print("  \(problem)") }
                }
            }
        }
    }
}
