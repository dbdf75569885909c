import Foundation
import Hummingbird
import StratesCore
import StratesGateway

/// `/api/reserves`: the generic rule routes plus where each reserve stands on the running
/// gateway (`/api/reserves/:rule/status`, and every one with `/api/reserve-status`).
struct ReserveController {
    let runtime: StratesRuntime

    var rules: RuleController<ProductionReserve> { RuleController(runtime: runtime, index: runtime.reserves.rules) }

    /// Mounted at `/api/reserves`.
    var endpoints: RouteCollection<AdminContext> {
        rules.endpoints.get(":rule/status", use: status)
    }

    /// Mounted at `/api/reserve-status`.
    var statusEndpoints: RouteCollection<AdminContext> {
        RouteCollection(context: AdminContext.self).get(use: statuses)
    }

    @Sendable func status(_ request: Request, _ context: AdminContext) async throws -> Response {
        let reserve = try await rules.find(context)
        let standing = try await runtime.reserves.standings(of: [reserve]).first
        guard let standing else { return HTTPAdapters.json(.ok, Array("{}".utf8)) }
        return HTTPAdapters.json(.ok, standing)
    }

    @Sendable func statuses(_ request: Request, _ context: AdminContext) async throws -> Response {
        let visible = try await context.access.visible(runtime.reserves.rules.all)
        return HTTPAdapters.list(try await runtime.reserves.standings(of: visible))
    }
}
