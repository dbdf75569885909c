import Foundation
import Hummingbird
import StratesAnalytics
import StratesCore
import StratesGateway
import StratesLedger

/// `/api/reports/...`: reports over the ledger, for admin keys; a team admin sees its own
/// team's members only.
struct ReportController {
    let runtime: StratesRuntime

    /// Mounted at `/api/reports`.
    var endpoints: RouteCollection<AdminContext> {
        let routes = RouteCollection(context: AdminContext.self)
        let runtime = runtime
        routes.get("benefits", use: benefits)
        routes.get("routing", use: routing)
        routes.get("flow", use: flow)
        windowed(routes, "workloads") { window, access, _ in
            try await WorkloadReporting.make(
                database: runtime.database, rules: runtime.configuration.workloads, since: window.since, until: window.until, team: access.team
            )
        }
        windowed(routes, "outcomes") { window, access, parameter in
            try await OutcomeReporting.make(
                database: runtime.database, by: try Self.grouping(parameter, default: "workflow"), since: window.since, until: window.until, team: access.team)
        }
        windowed(routes, "efficiency") { window, access, parameter in
            try await OutcomeReporting.efficiency(
                database: runtime.database, by: try Self.grouping(parameter, default: "model"), since: window.since, until: window.until, team: access.team)
        }
        windowed(routes, "anomalies") { window, access, _ in
            SpikeList(
                try await AnomalyReporting.detect(
                    database: runtime.database, rules: runtime.configuration.anomalies, since: window.since, until: window.until, team: access.team
                ))
        }
        routes.get("forecast") { request, context in
            await runtime.ledgerWriter.flush()
            let format = try Self.format { request.uri.queryParameters.get($0) }
            let forecast = try await ForecastReporting.make(database: runtime.database, team: context.access.team)
            return HTTPAdapters.report(forecast, format: format)
        }
        return routes
    }

    /// `?by=team,workflow&since=30d&until=…&top=10&trend=day|week&format=json|csv`; a team admin sees its team's requests.
    @Sendable func flow(_ request: Request, _ context: AdminContext) async throws -> Response {
        let access = context.access
        let parameters = request.uri.queryParameters
        let dimensions: [UsageDimension]
        switch FlowReporting.dimensions(parameters.get("by") ?? "") {
        case .success(let found): dimensions = found
        case .failure(let problem): throw GatewayError.badRequest("'by': \(problem.message).", param: problem.param)
        }
        let window = try Self.window { parameters.get($0) }
        let top = parameters.get("top").map { Int($0) } ?? 10
        guard let top, (1...1_000).contains(top) else { throw GatewayError.badRequest("'top' must be a whole number from 1 to 1000.", param: "top") }
        var trend: FlowReport.Trend?
        if let text = parameters.get("trend") {
            guard let unit = FlowReport.Trend(rawValue: text) else { throw GatewayError.badRequest("'trend' is day or week.", param: "trend") }
            trend = unit
        }
        let format = try Self.format { parameters.get($0) }
        await runtime.ledgerWriter.flush()
        let report = try await FlowReporting.make(
            database: runtime.database, dimensions: dimensions, since: window.since, until: window.until, top: top, trend: trend, team: access.team
        )
        return HTTPAdapters.report(report, format: format)
    }

    /// A report over a window (`since`, `until`), as JSON or CSV (`format`), the ledger
    /// flushed first.
    func windowed(
        _ routes: RouteCollection<AdminContext>, _ path: String,
        _ build:
            @escaping @Sendable (_ window: (since: Date, until: Date), _ access: AdminAccess, _ parameter: (String) -> String?) async throws ->
            any ReportBody
    ) {
        let runtime = runtime
        routes.get(RouterPath(path)) { request, context in
            let parameters = request.uri.queryParameters
            let window = try Self.window { parameters.get($0) }
            let format = try Self.format { parameters.get($0) }
            await runtime.ledgerWriter.flush()
            let report = try await build(window, context.access) { parameters.get($0) }
            return HTTPAdapters.report(report, format: format)
        }
    }

    /// `format`: json (the default) or csv.
    static func format(_ parameter: (String) -> String?) throws(GatewayError) -> String {
        let format = parameter("format") ?? "json"
        guard format == "json" || format == "csv" else { throw GatewayError.badRequest("'format' is json or csv.", param: "format") }
        return format
    }

    /// `by` for the outcome reports: workflow, team, member or model.
    static func grouping(_ parameter: (String) -> String?, default fallback: String) throws(GatewayError) -> String {
        let by = parameter("by") ?? fallback
        guard OutcomeReporting.groupings.contains(by) else {
            throw GatewayError.badRequest("'by' is one of \(OutcomeReporting.groupings.joined(separator: ", ")).", param: "by")
        }
        return by
    }

    /// `since` (default 30 days back) and `until` (default now) from a report's query.
    static func window(_ parameter: (String) -> String?) throws(GatewayError) -> (since: Date, until: Date) {
        var window: [String: Date] = [:]
        for (name, fallback) in [("since", "30d"), ("until", nil)] as [(String, String?)] {
            guard let text = parameter(name) ?? fallback else { continue }
            guard let date = UsageReport.parseSince(text) else {
                throw GatewayError.badRequest("'\(name)' must be like 30d, 24h or 2026-11-01.", param: name)
            }
            window[name] = date
        }
        return (window["since"]!, window["until"] ?? Date())
    }

    /// `?since=30d&until=2026-11-30&format=json|csv`; a team admin sees its team's requests.
    @Sendable func routing(_ request: Request, _ context: AdminContext) async throws -> Response {
        let access = context.access
        let parameters = request.uri.queryParameters
        let window = try Self.window { parameters.get($0) }
        let format = try Self.format { parameters.get($0) }
        await runtime.ledgerWriter.flush()
        let report = try await RoutingReporting.make(
            database: runtime.database, pricing: runtime.pricing, routes: runtime.gateway.router.routes, since: window.since,
            until: window.until, team: access.team
        )
        return HTTPAdapters.report(report, format: format)
    }

    /// `?period=2026-11&time_zone=Europe/Paris&purpose=benefit|all&format=json|csv`.
    @Sendable func benefits(_ request: Request, _ context: AdminContext) async throws -> Response {
        let access = context.access
        let parameters = request.uri.queryParameters
        let zoneName = parameters.get("time_zone") ?? "UTC"
        guard let zone = TimeZone(identifier: zoneName) else {
            throw GatewayError.badRequest("'time_zone' \(zoneName) is not a known IANA zone (e.g. UTC, Europe/Paris).", param: "time_zone")
        }
        guard let text = parameters.get("period") else {
            throw GatewayError.badRequest("'period' is required: \(ReportPeriod.problem).", param: "period")
        }
        guard let period = ReportPeriod(text, timeZone: zone) else {
            throw GatewayError.badRequest("'period' \(text) is not valid: \(ReportPeriod.problem).", param: "period")
        }
        let format = try Self.format { parameters.get($0) }
        let purpose = parameters.get("purpose") ?? "benefit"
        var members: Set<String>?
        if let team = access.team {
            let directory = try await runtime.database.members(organization: access.key.organization)
            members = Set(directory.filter { $0.teams.contains(team) }.map(\.member))
        }
        await runtime.ledgerWriter.flush()
        let report = try await BenefitsReporting.make(
            database: runtime.database, pricing: runtime.pricing, organization: access.key.organization, period: period,
            purpose: purpose == "all" ? nil : purpose, members: members
        )
        return HTTPAdapters.report(report, format: format)
    }
}
