import Foundation
import Hummingbird
import Prometheus
import StratesAnalytics
import StratesCore
import StratesGateway
import StratesLedger
import StratesWire

/// `GET /api/usage`: the ledger's usage, grouped and filtered; a team admin reads only its team's.
struct UsageController {
    let runtime: StratesRuntime

    /// Mounted at `/api/usage`.
    var endpoints: RouteCollection<AdminContext> {
        RouteCollection(context: AdminContext.self).get(use: usage)
    }

    @Sendable func usage(_ request: Request, _ context: AdminContext) async throws -> Response {
        let access = context.access
        let parameters = request.uri.queryParameters
        var query = UsageQuery()
        if let by = parameters.get("by") {
            let parsed = UsageReport.parseDimensions(by)
            guard parsed.unknown.isEmpty else {
                throw GatewayError.badRequest(
                    "Unknown 'by' dimension(s): \(parsed.unknown.joined(separator: ", ")). Use: \(UsageDimension.allCases.map(\.rawValue).joined(separator: ", ")).",
                    param: "by")
            }
            query.groupBy = parsed.dimensions
        }
        for (name, target) in [("since", \UsageQuery.since), ("until", \UsageQuery.until)] {
            guard let text = parameters.get(name) else { continue }
            guard let date = UsageReport.parseSince(text) else {
                throw GatewayError.badRequest("'\(name)' must be like 7d, 24h or 2026-11-01.", param: name)
            }
            query[keyPath: target] = date
        }
        for dimension in UsageDimension.allCases {
            if let value = parameters.get(dimension.rawValue) { query.filters[dimension] = value }
        }
        if let team = access.team {
            // A team admin reads only the team's usage.
            if let asked = query.filters[.team], asked != team {
                throw GatewayError(status: 403, message: "This admin key belongs to team '\(team)' and cannot read team '\(asked)'.", code: "outside_your_team")
            }
            query.filters[.team] = team
        }
        let rows = try await runtime.database.usage(query)
        let format = parameters.get("format").flatMap(UsageReport.Format.init) ?? .json
        let text = UsageReportBody(rows: rows, groupBy: query.groupBy).text(format)
        let type = format == .json ? "application/json" : format == .csv ? "text/csv" : "text/plain; charset=utf-8"
        return Response(status: .ok, headers: HTTPAdapters.fields([("content-type", type)]), body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }
}
