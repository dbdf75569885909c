import ArgumentParser
import Foundation
import StratesAnalytics
import StratesCore
import StratesLedger
import StratesServer
import StratesWire

extension StratesCommand {
    struct Reconcile: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compare the ledger with a provider's own usage or cost export, per day and model.",
            discussion: """
                The export is what the provider's admin API returns, saved to a file (one page, a list of pages, or a
                page per line): Anthropic's usage report (/v1/organizations/usage_report/messages, bucket_width=1d,
                group_by[]=model) or cost report (/v1/organizations/cost_report), OpenAI's completions usage
                (/v1/organization/usage/completions, group_by=model) or costs (/v1/organization/costs,
                group_by=line_item). Usage exports are compared in tokens, cost exports in dollars. Every day and model
                whose difference is above --threshold percent (and above 1,000 tokens or one cent) is flagged with its
                likely causes. Exit status 1 when anything differs, so a scheduled check can alert.
                Examples:
                  strates reconcile --provider anthropic --export usage-2026-11.json
                  strates reconcile --provider openai --export costs.json --threshold 2 --format json
                """
        )

        @OptionGroup var data: DataOptions
        @Option(help: "The provider as the ledger names it (its name in the configuration).") var provider: String
        @Option(help: "The export file.") var export: String
        @Option(help: "Percent of the larger side a difference must exceed to be reported.") var threshold: Double = 1
        @Option(help: "table or json.") var format: String = "table"

        func run() async throws {
            guard ["table", "json"].contains(format) else { throw ValidationError("--format must be table or json") }
            guard threshold >= 0 else { throw ValidationError("--threshold must be a percentage of 0 or more") }
            guard let bytes = FileManager.default.contents(atPath: export) else { throw ValidationError("cannot read \(export)") }
            let parsed: (kind: ProviderExport.Kind, rows: [ExportRow])
            do {
                parsed = try ProviderExport.read(Array(bytes))
            } catch {
                throw CommandFailure(description: "\(export): \(error)")
            }
            let (configuration, ledger) = try data.openLedger()
            if let kind = configuration.providers.first(where: { $0.name == provider })?.kind.rawValue {
                let expected = parsed.kind == .anthropicUsage || parsed.kind == .anthropicCost ? "anthropic" : "openai"
                if !kind.hasPrefix(expected) && kind != "sim" {
                    FileHandle.standardError.write(Data("warning: '\(provider)' is a \(kind) provider, and this is an \(parsed.kind.rawValue)\n".utf8))
                }
            }
            let first = parsed.rows.map(\.day).min() ?? Date()
            let last = (parsed.rows.map(\.day).max() ?? Date()).addingTimeInterval(86_400)
            let rows = try await ledger.usage(UsageQuery(groupBy: [.day, .model], since: first, until: last, filters: [.provider: provider]))
            let measure: Reconciliation.Measure = parsed.kind == .anthropicUsage || parsed.kind == .openAIUsage ? .tokens : .cost
            let report = Reconciliation.make(provider: provider, export: parsed.rows, ledger: rows, measure: measure, thresholdPercent: threshold)
            if format == "json" {
                print(APIJSON.text(report))
            } else {
                print(
                    "\(provider): the ledger against the \(parsed.kind.rawValue), \(UsageReport.dayText(first)) to \(UsageReport.dayText(last.addingTimeInterval(-86_400))), in \(measure.rawValue)"
                )
                TextTable.print(report.table)
                let flagged = report.lines.filter(\.flagged)
                print(flagged.isEmpty ? "\nEverything matches within \(threshold)%." : "\n\(flagged.count) difference(s):")
                for line in flagged {
                    print("  \(UsageReport.dayText(line.day)) \(line.model):")
                    for cause in line.causes { print("    - \(cause)") }
                }
            }
            if report.differences > 0 { throw ExitCode(1) }
        }
    }
}
