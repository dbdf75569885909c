import ArgumentParser
import Foundation
import StratesCore
import StratesGateway
import StratesServer

extension StratesCommand {
    struct Report: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Reports over the ledger.",
            subcommands: [Benefits.self, Routing.self]
        )

        struct Routing: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Per route (alias or model): requests by deployment, fallbacks and why, errors, spend, cache-read share and savings.",
                discussion: """
                    Savings compare what each request cost with what the same usage would have cost on the requested model
                    (for an alias, the route's first deployment), at contract prices; caching saved compares it with the
                    same tokens without prompt caching.
                    Examples:
                      strates report routing --since 30d
                      strates report routing --since 2026-11-01 --until 2026-12-01 --format csv
                    """
            )

            @OptionGroup var data: DataOptions
            @Option(help: "Start: 30d, 24h, or a date (2026-11-01).") var since: String = "30d"
            @Option(help: "End (exclusive), same forms; default now.") var until: String?
            @Option(help: "Only requests of this team.") var team: String?
            @Option(help: "table, json or csv.") var format: String = "table"

            func run() async throws {
                guard ["table", "json", "csv"].contains(format) else { throw ValidationError("--format must be table, json or csv") }
                guard let start = UsageReport.parseSince(since) else { throw ValidationError("--since must be like 30d, 24h or 2026-11-01") }
                let end = try until.map { text in
                    guard let date = UsageReport.parseSince(text) else { throw ValidationError("--until must be like 30d, 24h or 2026-11-01") }
                    return date
                } ?? Date()
                let (configuration, ledger) = try data.openLedger()
                let pricing = Pricing(try await StratesRuntime.catalog(configuration: configuration, store: ledger))
                let report = try await RoutingReporting.make(database: ledger, pricing: pricing, routes: configuration.models, since: start, until: end, team: team)
                switch format {
                case "json": print(report.json)
                case "csv": print(report.csv, terminator: "")
                default:
                    if report.lines.isEmpty {
                        print("No requests since \(since).")
                    } else {
                        TextTable.print(report.table)
                    }
                    if !report.events.isEmpty { print("\nRoute changes:") }
                    for event in report.events { print("  \(BudgetText.timestamp(event.at))  \(event.text)") }
                }
            }
        }

        struct Benefits: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Per member: personal-use value at list price and at contract cost, and grants granted, used, unused and lapsed.",
                discussion: """
                    Personal use is every request in the 'personal' environment. Its list value (no contract discount)
                    is the benefit's face value, for tax reporting; its contract cost is what the organization paid.
                    Grants are those of --purpose (default: benefit; 'all' for every grant).
                    Examples:
                      strates report benefits --period 2026-11 --format csv > benefits-2026-11.csv
                      strates report benefits --period 2026 --time-zone Europe/Paris
                    """
            )

            @OptionGroup var data: DataOptions
            @Option(help: "A month (2026-11) or a year (2026). Default: the current month.") var period: String?
            @Option(help: "IANA time zone in which the period starts (default UTC).") var timeZone: String = "UTC"
            @Option(help: "Grants of this purpose, or 'all'.") var purpose: String = "benefit"
            @Option(help: "Only members of this team.") var team: String?
            @Option(help: "table, json or csv.") var format: String = "table"

            func run() async throws {
                guard ["table", "json", "csv"].contains(format) else { throw ValidationError("--format must be table, json or csv") }
                guard let zone = TimeZone(identifier: timeZone) else { throw ValidationError("--time-zone \(timeZone) is not a known IANA zone (e.g. UTC, Europe/Paris)") }
                let text = period ?? Self.currentMonth(in: zone)
                guard let reportPeriod = ReportPeriod(text, timeZone: zone) else { throw ValidationError("--period \(text): \(ReportPeriod.problem)") }
                let (configuration, ledger) = try data.openLedger()
                let pricing = Pricing(try await StratesRuntime.catalog(configuration: configuration, store: ledger))
                var members: Set<String>?
                if let team {
                    members = Set(try await ledger.members(organization: configuration.organization).filter { $0.teams.contains(team) }.map(\.member))
                }
                let report = try await BenefitsReporting.make(
                    database: ledger, pricing: pricing, organization: configuration.organization, period: reportPeriod,
                    purpose: purpose == "all" ? nil : purpose, members: members
                )
                switch format {
                case "json": print(report.json)
                case "csv": print(report.csv, terminator: "")
                default:
                    guard !report.lines.isEmpty else {
                        print("No personal use and no \(purpose == "all" ? "" : purpose + " ")grants in \(text).")
                        return
                    }
                    print("Benefits \(text) (\(timeZone)): personal use at list price (face value) and at contract cost.")
                    TextTable.print(report.table)
                }
            }

            static func currentMonth(in zone: TimeZone) -> String {
                var calendar = Calendar(identifier: .gregorian)
                calendar.timeZone = zone
                let parts = calendar.dateComponents([.year, .month], from: Date())
                return String(format: "%04d-%02d", parts.year ?? 2026, parts.month ?? 1)
            }
        }
    }
}
