import ArgumentParser
import Foundation
import StratesAnalytics
import StratesCore
import StratesGateway
import StratesLedger
import StratesServer

extension StratesCommand {
    struct Report: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Reports over the ledger.",
            subcommands: [Benefits.self, Routing.self, Flow.self, Workloads.self, Outcomes.self, Efficiency.self, Anomalies.self, ForecastCommand.self]
        )

        struct Workloads: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "What is being run: runs classified as prompt, chain or autonomous, per class and workflow.",
                discussion: """
                    A run (x-strates-run, or an agent's session) with its subagents is one unit. prompt: at most
                    prompt_max_calls calls and no tool turn; autonomous: at least autonomous_min_calls calls, at least
                    autonomous_tool_share of them going on from a tool's result; chain: the rest. Where a call's turn is
                    unknown (imported history), a call within human_gap_seconds of the previous one counts as the loop's.
                    The thresholds are set under `workloads:` in the configuration.
                    Examples:
                      strates report workloads --since 30d
                      strates report workloads --team platform --format json
                    """
            )

            @OptionGroup var data: DataOptions
            @OptionGroup var window: ReportWindow
            @Option(help: "Only runs of this team.") var team: String?
            @Option(help: "table, json or csv.") var format: String = "table"

            func run() async throws {
                try ReportOutput.check(format: format)
                let (start, end) = try window.dates()
                let (configuration, ledger) = try data.openLedger()
                let report = try await WorkloadReporting.make(database: ledger, rules: configuration.workloads, since: start, until: end, team: team)
                if ReportOutput.printed(report, format) { return }
                guard !report.lines.isEmpty else {
                    print("No runs since \(window.since) (\(report.callsWithoutRun) call(s) without a run).")
                    return
                }
                TextTable.print(report.table)
                if report.callsWithoutRun > 0 { print("\n\(report.callsWithoutRun) call(s) belong to no run and are not profiled (send x-strates-run).") }
            }
        }

        struct Outcomes: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "What the tokens produced: cost per outcome by kind and group, outcome rate, tokens per merged line, zero-output runs.",
                discussion: """
                    For runs started in the window (a session with its subagents), with the outcomes recorded for them
                    (POST /api/outcomes, strates outcomes record, strates outcomes import-git). A run's cost counts once per
                    kind it produced; cost per outcome is that spend over the outcomes of the kind.
                    Examples:
                      strates report outcomes --since 30d
                      strates report outcomes --by model --format json
                    """
            )

            @OptionGroup var data: DataOptions
            @OptionGroup var window: ReportWindow
            @Option(help: "workflow, team, member or model (the model a run spent most on).") var by: String = "workflow"
            @Option(help: "Only runs of this team.") var team: String?
            @Option(help: "table, json or csv.") var format: String = "table"

            func run() async throws {
                try ReportOutput.check(format: format)
                try ReportOutput.check(grouping: by)
                let (start, end) = try window.dates()
                let (_, ledger) = try data.openLedger()
                let report = try await OutcomeReporting.make(database: ledger, by: by, since: start, until: end, team: team)
                if ReportOutput.printed(report, format) { return }
                print(
                    "\(report.runs) run(s), \(report.runsWithOutcome) with an outcome (\(String(format: "%.1f%%", report.outcomeRate * 100))), spend \(NanoUSD(report.spend))."
                )
                if let perLine = report.tokensPerMergedLine { print("Tokens per merged line: \(String(format: "%.1f", perLine)).") }
                if !report.kinds.isEmpty {
                    print("")
                    TextTable.print(report.table)
                }
                print("\nZero-output runs: \(report.zeroOutputRuns), costing \(NanoUSD(report.zeroOutputSpend)).")
                for line in report.zeroOutputTop.prefix(5) { print("  \(line.run) (\(line.group)): \(NanoUSD(line.cost)), \(line.tokens) tokens") }
            }
        }

        struct Efficiency: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract:
                    "How much of the spend produced something: per model (or workflow, team, member), outcome rate, cost per outcome, tokens per merged line, zero-output spend.",
                discussion: """
                    Runs started in the window (a session with its subagents) with the outcomes recorded for them. A run
                    belongs to the model it spent most on. Cost per outcome is the group's spend over its outcomes of any
                    kind; tokens per merged line counts the runs that merged lines; zero-output runs are those without any
                    outcome. The first line is the whole.
                    Examples:
                      strates report efficiency --since 30d
                      strates report efficiency --by workflow --format csv
                    """
            )

            @OptionGroup var data: DataOptions
            @OptionGroup var window: ReportWindow
            @Option(help: "model, workflow, team or member.") var by: String = "model"
            @Option(help: "Only runs of this team.") var team: String?
            @Option(help: "table, json or csv.") var format: String = "table"

            func run() async throws {
                try ReportOutput.check(format: format)
                try ReportOutput.check(grouping: by)
                let (start, end) = try window.dates()
                let (_, ledger) = try data.openLedger()
                let report = try await OutcomeReporting.efficiency(database: ledger, by: by, since: start, until: end, team: team)
                if !ReportOutput.printed(report, format) { TextTable.print(report.table) }
            }
        }

        struct Anomalies: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Spend spikes: hours in which a team spent far above its rolling baseline.",
                discussion: """
                    An hour is a spike when its spend is at least `factor` times the team's average hourly spend over the
                    `baseline_days` before it, and at least `min_usd_per_hour` (defaults 3, 7 days and $1; set under
                    `anomalies:`). A running gateway checks every minute and announces new spikes in its log and webhooks.
                    Example: strates report anomalies --since 7d
                    """
            )

            @OptionGroup var data: DataOptions
            @OptionGroup var window: ReportWindow
            @Option(help: "Only this team.") var team: String?
            @Option(help: "table, json or csv.") var format: String = "table"

            func run() async throws {
                try ReportOutput.check(format: format)
                let (start, end) = try window.dates()
                let (configuration, ledger) = try data.openLedger()
                let spikes = try await AnomalyReporting.detect(database: ledger, rules: configuration.anomalies, since: start, until: end, team: team)
                if ReportOutput.printed(SpikeList(spikes), format) { return }
                if spikes.isEmpty { print("No spend spikes since \(window.since).") }
                for spike in spikes { print(spike.text) }
            }
        }

        struct ForecastCommand: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "forecast",
                abstract: "Burn rate and end-of-period projection per budget and per team, days until exhaustion, week-over-week growth.",
                discussion: """
                    Method: \(Forecast.method). Budgets in their own periods and time zones; teams by UTC calendar month.
                    Examples:
                      strates report forecast
                      strates report forecast --team platform --format json
                    """
            )

            @OptionGroup var data: DataOptions
            @Option(help: "Only this team's budgets and spend.") var team: String?
            @Option(help: "table, json or csv.") var format: String = "table"

            func run() async throws {
                try ReportOutput.check(format: format)
                let (_, ledger) = try data.openLedger()
                let forecast = try await ForecastReporting.make(database: ledger, team: team)
                if ReportOutput.printed(forecast, format) { return }
                print("Method: \(Forecast.method).")
                if forecast.budgets.isEmpty {
                    print("\nNo budgets.")
                } else {
                    print("")
                    TextTable.print(forecast.budgetTable)
                }
                if forecast.teams.isEmpty {
                    print("\nNo team spend this month.")
                } else {
                    print("")
                    TextTable.print(forecast.teamTable)
                }
            }
        }

        struct Flow: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Where the tokens go: spend along one or two dimensions, shares, top N, and the trend per day or week.",
                discussion: """
                    Dimensions: team, member, key, workflow, run, process, model, provider, environment, organization, status.
                    Shares are of the window's spend (of its tokens when nothing was priced); groups past --top fold into
                    "(other)". The trend is per day for windows up to 31 days, else per week (or as --trend says).
                    Examples:
                      strates report flow --by team,workflow --since 30d
                      strates report flow --by environment,provider --since 2026-11-01 --trend week --format csv
                    """
            )

            @OptionGroup var data: DataOptions
            @Option(help: "One or two dimensions, e.g. team,workflow.") var by: String
            @OptionGroup var window: ReportWindow
            @Option(help: "Groups shown per level; the rest fold into (other).") var top: Int = 10
            @Option(help: "day or week (default: day up to 31 days, else week).") var trend: String?
            @Option(help: "Only requests of this team.") var team: String?
            @Option(help: "table, json or csv.") var format: String = "table"

            func run() async throws {
                try ReportOutput.check(format: format)
                let dimensions: [UsageDimension]
                switch FlowReporting.dimensions(by) {
                case .success(let found): dimensions = found
                case .failure(let problem): throw ValidationError("--by: \(problem.message)")
                }
                guard (1...1_000).contains(top) else { throw ValidationError("--top must be from 1 to 1000") }
                let unit = try trend.map { text in
                    guard let unit = FlowReport.Trend(rawValue: text) else { throw ValidationError("--trend must be day or week") }
                    return unit
                }
                let (start, end) = try window.dates()
                let (_, ledger) = try data.openLedger()
                let report = try await FlowReporting.make(database: ledger, dimensions: dimensions, since: start, until: end, top: top, trend: unit, team: team)
                switch format {
                case "json": print(APIJSON.text(report))
                case "csv": print(APICSV.text(report), terminator: "")
                default:
                    guard report.requests > 0 else {
                        print("No requests since \(window.since).")
                        return
                    }
                    print(
                        "\(report.requests) requests, \(report.tokens) tokens, \(NanoUSD(report.cost)) since \(BudgetText.timestamp(start)); trend per \(report.trendUnit.rawValue) (last periods shown)"
                    )
                    TextTable.print(report.table)
                }
            }
        }

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
            @OptionGroup var window: ReportWindow
            @Option(help: "Only requests of this team.") var team: String?
            @Option(help: "table, json or csv.") var format: String = "table"

            func run() async throws {
                try ReportOutput.check(format: format)
                let (start, end) = try window.dates()
                let (configuration, ledger) = try data.openLedger()
                let pricing = Pricing(try await StratesRuntime.catalog(configuration: configuration, store: ledger))
                let report = try await RoutingReporting.make(
                    database: ledger, pricing: pricing, routes: configuration.models, since: start, until: end, team: team)
                switch format {
                case "json": print(APIJSON.text(report))
                case "csv": print(APICSV.text(report), terminator: "")
                default:
                    if report.lines.isEmpty {
                        print("No requests since \(window.since).")
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
                try ReportOutput.check(format: format)
                guard let zone = TimeZone(identifier: timeZone) else {
                    throw ValidationError("--time-zone \(timeZone) is not a known IANA zone (e.g. UTC, Europe/Paris)")
                }
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
                case "json": print(APIJSON.text(report))
                case "csv": print(APICSV.text(report), terminator: "")
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

/// A report's `--since` and `--until` (default now).
struct ReportWindow: ParsableArguments {
    @Option(help: "Start: 30d, 24h, or a date (2026-11-01).") var since: String = "30d"
    @Option(help: "End (exclusive), same forms; default now.") var until: String?

    func dates() throws -> (Date, Date) {
        guard let start = UsageReport.parseSince(since) else { throw ValidationError("--since must be like 30d, 24h or 2026-11-01") }
        guard let until else { return (start, Date()) }
        guard let end = UsageReport.parseSince(until) else { throw ValidationError("--until must be like 30d, 24h or 2026-11-01") }
        return (start, end)
    }
}

/// How the report commands check their options and print JSON and CSV (each rendered only
/// when asked for).
enum ReportOutput {
    static func check(format: String) throws {
        guard ["table", "json", "csv"].contains(format) else { throw ValidationError("--format must be table, json or csv") }
    }

    /// `--by` of the outcome and efficiency reports.
    static func check(grouping: String) throws {
        guard OutcomeReporting.groupings.contains(grouping) else {
            throw ValidationError("--by must be one of \(OutcomeReporting.groupings.joined(separator: ", "))")
        }
    }

    /// Prints the report when `format` is json or csv; false for a table, which the caller prints.
    static func printed(_ report: some ReportBody, _ format: String) -> Bool {
        switch format {
        case "json": print(APIJSON.text(report))
        case "csv": print(APICSV.text(report), terminator: "")
        default: return false
        }
        return true
    }
}
