import ArgumentParser
import Foundation
import StratesAnalytics
import StratesCore
import StratesGateway
import StratesLedger
import StratesServer

extension StratesCommand.Import {
    struct UsageExport: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "usage-export",
            abstract: "Import a provider's own usage export (Anthropic's usage report, OpenAI's completions usage) into the ledger.",
            discussion: """
                For the traffic that never went through the gateway. The file is what the provider's admin API returns,
                saved (one page, a list of pages, or a page per line): Anthropic's /v1/organizations/usage_report/messages
                or OpenAI's /v1/organization/usage/completions, any bucket width, grouped by model (and by key,
                workspace or project if you like). Each result (a time bucket and a group) becomes one ledger row
                standing for all the calls in it, priced from Strates' catalog at the tier the export names; reports
                count it as one call. Importing the same export again adds nothing; a later export of a day that was
                still running updates it. Days on which the ledger already has calls to the provider (through the
                gateway or another import) are skipped and listed, since the export counts them too:
                --include-metered-days imports them anyway. Cost exports carry no tokens: compare them with
                'strates reconcile'.
                Examples:
                  strates import usage-export anthropic-usage.json --provider anthropic --team platform
                  strates import usage-export pages/*.json --provider anthropic
                  strates import usage-export openai-usage.json --provider openai --key-team key_abc=search --format json
                """
        )

        @OptionGroup var data: DataOptions
        @Argument(help: "The export file (or several: pages saved one to a file).") var files: [String]
        @Option(help: "The provider as the ledger names it (its name in the configuration).") var provider: String
        @Option(help: "The team the usage belongs to.") var team: String?
        @Option(help: "The member the usage belongs to.") var member: String?
        @Option(help: "production, sandbox or personal.") var environment: String = "production"
        @Option(help: "The workflow the usage belongs to.") var workflow: String?
        @Option(name: .customLong("key-team"), help: "KEY_ID=TEAM: the team for the provider API key's usage (export grouped by api_key_id). Repeatable.")
        var keyTeams: [String] = []
        @Flag(help: "Import days on which the ledger already has calls to the provider.") var includeMeteredDays = false
        @Option(help: "table or json.") var format: String = "table"

        func run() async throws {
            guard ["table", "json"].contains(format) else { throw ValidationError("--format must be table or json") }
            guard let environment = Environment(rawValue: environment) else { throw ValidationError("--environment must be production, sandbox or personal") }
            var teamsByKey: [String: String] = [:]
            for pair in keyTeams {
                let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { throw ValidationError("--key-team takes KEY_ID=TEAM, not '\(pair)'") }
                teamsByKey[parts[0]] = parts[1]
            }
            guard !files.isEmpty else { throw ValidationError("give the export file") }
            var exports: [(name: String, bytes: [UInt8])] = []
            for file in files {
                guard let bytes = FileManager.default.contents(atPath: file) else { throw ValidationError("cannot read \(file)") }
                exports.append((file, Array(bytes)))
            }
            let (configuration, ledger) = try data.openLedger(creating: true)
            if !["anthropic", "openai"].contains(provider), !configuration.providers.contains(where: { $0.name == provider }) {
                FileHandle.standardError.write(
                    Data("warning: no provider named '\(provider)' in the configuration; the rows are recorded under that name\n".utf8))
            }
            let pricing = Pricing(try await StratesRuntime.catalog(configuration: configuration, store: ledger))
            let who = Attribution(organization: configuration.organization, team: team, member: member, environment: environment, workflow: workflow)
            let importer = UsageExportImport(
                provider: provider, attribution: who, teamsByKey: teamsByKey, includeMeteredDays: includeMeteredDays, pricing: pricing)
            let summary: UsageExportImport.Summary
            do {
                summary = try await importer.run(files: exports, store: ledger)
            } catch let error as ImportError {
                throw CommandFailure(description: error.description)
            }
            guard format == "table" else {
                print(APIJSON.text(summary))
                return
            }
            let span = summary.first.map { first in " from \(UsageReport.dayText(first)) to \(UsageReport.dayText(summary.last ?? first))" } ?? ""
            print("Read the \(summary.kind): \(summary.results) result(s)\(span).")
            print(
                "Rows: \(summary.rows) (\(summary.added) added, \(summary.updated) updated, \(summary.rows - summary.added - summary.updated) already present)\(summary.requests.map { "; the provider counts \($0) request(s) in them" } ?? "")."
            )
            print(
                "Tokens: \(summary.usage.input) input, \(summary.usage.output) output, \(summary.usage.cacheRead) cache read, \(summary.usage.cacheWrite5m + summary.usage.cacheWrite1h) cache write; cost \(summary.cost)\(summary.unpriced > 0 ? " (\(summary.unpriced) row(s) without a price: model not in the catalog, or the export not grouped by model)" : "")."
            )
            if summary.empty > 0 { print("Left out \(summary.empty) result(s) with no tokens.") }
            if !summary.unseenKeys.isEmpty {
                print(
                    "No results for --key-team key(s) \(summary.unseenKeys.joined(separator: ", ")): is the export grouped by api_key_id (group_by[]=api_key_id)?"
                )
            }
            if !summary.skippedDays.isEmpty {
                print(
                    "Skipped \(summary.skippedResults) result(s) on \(summary.skippedDays.count) day(s) the ledger already has calls to '\(provider)' for: \(summary.skippedDays.map(UsageReport.dayText).joined(separator: ", "))."
                )
                print("  The export counts that traffic too; compare those days with 'strates reconcile', or import them with --include-metered-days.")
            }
        }
    }
}
