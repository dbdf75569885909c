import ArgumentParser
import Foundation
import StratesAnalytics
import StratesCore
import StratesLedger
import StratesServer

extension StratesCommand {
    struct Usage: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show tokens by kind and cost from the ledger.",
            discussion:
                "Examples:\n  strates usage --by team --since 7d\n  strates usage --by member,model --since 2026-11-01 --format csv\n  strates usage --by day --team platform"
        )

        @OptionGroup var data: DataOptions
        @Option(help: "Group by one or more of: \(UsageDimension.allCases.map(\.rawValue).joined(separator: ", ")) (comma-separated).")
        var by: String?
        @Option(help: "Start of the window: 7d, 24h, 30m, or a date (2026-11-01). Default: everything.")
        var since: String?
        @Option(help: "End of the window (exclusive), same forms as --since.")
        var until: String?
        @Option(help: "table, json or csv.") var format: String = "table"
        @Option(help: "Only this team.") var team: String?
        @Option(help: "Only this member.") var member: String?
        @Option(help: "Only this key id.") var key: String?
        @Option(help: "Only this workflow.") var workflow: String?
        @Option(help: "Only this run.") var run: String?
        @Option(help: "Only this model.") var model: String?
        @Option(help: "Only this provider.") var provider: String?
        @Option(help: "Only this environment.") var environment: String?

        func run() async throws {
            guard let outputFormat = UsageReport.Format(rawValue: format) else { throw ValidationError("--format must be table, json or csv") }
            var query = UsageQuery()
            if let by {
                let parsed = UsageReport.parseDimensions(by)
                guard parsed.unknown.isEmpty else {
                    throw ValidationError(
                        "unknown --by dimension(s): \(parsed.unknown.joined(separator: ", ")); use \(UsageDimension.allCases.map(\.rawValue).joined(separator: ", "))"
                    )
                }
                query.groupBy = parsed.dimensions
            }
            if let since {
                guard let date = UsageReport.parseSince(since) else { throw ValidationError("--since must be like 7d, 24h or 2026-11-01") }
                query.since = date
            }
            if let until {
                guard let date = UsageReport.parseSince(until) else { throw ValidationError("--until must be like 7d, 24h or 2026-11-01") }
                query.until = date
            }
            let filters: [(UsageDimension, String?)] = [
                (.team, team), (.member, member), (.key, key), (.workflow, workflow), (.run, self.run), (.model, model),
                (.provider, provider), (.environment, environment),
            ]
            for (dimension, value) in filters { if let value { query.filters[dimension] = value } }
            let (_, ledger) = try data.openLedger()
            let rows = try await ledger.usage(query)
            if rows.isEmpty && outputFormat == .table {
                print("No usage recorded\(since.map { " since \($0)" } ?? "").")
                return
            }
            print(UsageReportBody(rows: rows, groupBy: query.groupBy).text(outputFormat), terminator: "")
        }
    }
}
