import Foundation
import Hummingbird
import Prometheus
import StratesCore
import StratesGateway
import StratesLedger
import StratesWire

/// `/api/…` for admin keys, and the operational endpoints (`/healthz`, `/readyz`, `/metrics`).
struct AdminController<Context: RequestContext> {
    let runtime: StratesRuntime

    func addRoutes(to router: Router<Context>) {
        router.get("/api/usage") { request, _ in await usage(request) }
        router.get("/healthz") { _, _ in HTTPAdapters.json(.ok, Array(#"{"status":"ok"}"#.utf8)) }
        router.get("/readyz") { _, _ in await ready() }
        router.get("/metrics") { request, _ in metrics(request) }
    }

    func usage(_ request: Request) async -> Response {
        let access: AdminAccess
        do throws(GatewayError) {
            access = try await AdminAccess.authenticate(request, runtime: runtime)
        } catch {
            return HTTPAdapters.error(error, format: .openAI)
        }
        let parameters = request.uri.queryParameters
        var query = UsageQuery()
        if let by = parameters.get("by") {
            let parsed = UsageReport.parseDimensions(by)
            guard parsed.unknown.isEmpty else {
                return HTTPAdapters.error(
                    .badRequest(
                        "Unknown 'by' dimension(s): \(parsed.unknown.joined(separator: ", ")). Use: \(UsageDimension.allCases.map(\.rawValue).joined(separator: ", ")).",
                        param: "by"), format: .openAI)
            }
            query.groupBy = parsed.dimensions
        }
        for (name, target) in [("since", \UsageQuery.since), ("until", \UsageQuery.until)] {
            guard let text = parameters.get(name) else { continue }
            guard let date = UsageReport.parseSince(text) else {
                return HTTPAdapters.error(.badRequest("'\(name)' must be like 7d, 24h or 2026-11-01.", param: name), format: .openAI)
            }
            query[keyPath: target] = date
        }
        for dimension in UsageDimension.allCases {
            if let value = parameters.get(dimension.rawValue) { query.filters[dimension] = value }
        }
        if let team = access.team {
            // A team admin reads only the team's usage.
            if let asked = query.filters[.team], asked != team {
                return HTTPAdapters.error(
                    GatewayError(status: 403, message: "This admin key belongs to team '\(team)' and cannot read team '\(asked)'.", code: "outside_your_team"),
                    format: .openAI)
            }
            query.filters[.team] = team
        }
        do {
            let rows = try await runtime.database.usage(query)
            let format = parameters.get("format").flatMap(UsageReport.Format.init) ?? .json
            let text = UsageReport.render(rows, groupBy: query.groupBy, format: format)
            let type = format == .json ? "application/json" : format == .csv ? "text/csv" : "text/plain; charset=utf-8"
            return Response(status: .ok, headers: HTTPAdapters.fields([("content-type", type)]), body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
        } catch {
            return HTTPAdapters.error(
                GatewayError(status: 503, message: "The ledger could not be read. Try again shortly.", code: "ledger_unavailable"), format: .openAI)
        }
    }

    func ready() async -> Response {
        do {
            _ = try await runtime.database.requestCount()
            return HTTPAdapters.json(.ok, Array(#"{"status":"ready"}"#.utf8))
        } catch {
            return HTTPAdapters.json(.serviceUnavailable, Array(#"{"status":"ledger unavailable"}"#.utf8))
        }
    }

    /// The Prometheus exposition; behind `server.metrics_token_env`'s bearer token when one is set.
    func metrics(_ request: Request) -> Response {
        if let token = runtime.metricsToken {
            let presented = request.headers[.authorization].flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil }
            guard let presented, KeySecrets.sameToken(presented, token.value) else {
                var fields = HTTPAdapters.fields([("content-type", "application/json")])
                fields[.wwwAuthenticate] = "Bearer"
                let error = GatewayError(
                    status: 401, message: "/metrics needs 'Authorization: Bearer <token>' with the token in server.metrics_token_env.",
                    code: "invalid_metrics_token")
                return Response(status: .unauthorized, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: error.body(format: .openAI))))
            }
        }
        var buffer: [UInt8] = []
        runtime.registry.emit(into: &buffer)
        return Response(
            status: .ok, headers: HTTPAdapters.fields([("content-type", "text/plain; version=0.0.4")]),
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: buffer)))
    }
}
