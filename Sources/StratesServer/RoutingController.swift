import Foundation
import Hummingbird
import StratesCore
import StratesGateway

/// `/api/routes`: routes defined through the admin API (list, create, show, change, delete;
/// organization admins only), and `GET /api/routing`: every route in force — the API's, then
/// the configuration's — with its deployments and how each is doing on this gateway.
struct RoutingController {
    let runtime: StratesRuntime

    /// Mounted at `/api/routes`.
    var endpoints: RouteCollection<AdminContext> {
        let providers = Set(runtime.gateway.router.providers.keys)
        let runtime = runtime
        return RuleController<RouteDefinition>(runtime: runtime, index: runtime.routeDefinitions) { definition throws(GatewayError) in
            let unknown = definition.route.deployments.map(\.provider).filter { !providers.contains($0) }
            guard unknown.isEmpty else {
                throw GatewayError.badRequest(
                    "The route is not valid: \(unknown.map { "'\($0)'" }.joined(separator: ", ")) is not a configured provider (have: \(providers.sorted().joined(separator: ", "))). Providers and their credentials come from the configuration file."
                )
            }
            let router = runtime.gateway.router
            for tier in definition.route.auto?.tiers ?? [] where tier != definition.route.pattern {
                guard let serving = router.route(for: tier), serving.auto == nil else {
                    throw GatewayError.badRequest(
                        "The route is not valid: its auto tier '\(tier)' is not served by any route with deployments (tiers are aliases or models, and cannot be auto-routed themselves)."
                    )
                }
            }
        }.endpoints
    }

    /// Mounted at `/api/routing`.
    var routingEndpoints: RouteCollection<AdminContext> {
        let runtime = runtime
        return RouteCollection(context: AdminContext.self).get { _, _ in
            HTTPAdapters.json(.ok, Self.listing(runtime.gateway, definitions: runtime.routeDefinitions.all))
        }
    }

    static func listing(_ gateway: Gateway, definitions: [RouteDefinition]) -> APIList<RouteListing> {
        let health = Dictionary(gateway.health.snapshot.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let above = gateway.aboveCeiling
        let fromAPI = definitions.count
        return APIList(
            gateway.router.routes.enumerated().map { index, route in
                RouteListing(
                    route: route, source: index < fromAPI ? "api" : "config",
                    deployments: route.deployments.map { deployment in
                        let name = deployment.name(for: route.pattern)
                        let state = health[name]
                        return DeploymentListing(
                            deployment: deployment, failuresInARow: state?.failures ?? 0, coolingUntil: state?.coolingUntil,
                            latencyMs: state?.latencyMs, aboveCeiling: above.contains(route.pattern + "|" + name))
                    })
            })
    }
}

/// A route as `GET /api/routing` shows it: its settings, where it came from, and how each
/// deployment is doing.
struct RouteListing: APIRepresentable {
    var route: ModelRoute
    var source: String
    var deployments: [DeploymentListing]

    func encodeFields(_ fields: inout APIFields) throws {
        try fields.put("name", route.pattern)
        try fields.put("source", source)
        try fields.put("strategy", route.strategy.rawValue)
        try fields.put("retries", route.retries)
        try route.encodeCeilings(&fields)
        try fields.put("deployments", objects: deployments)
        try fields.put("auto", object: route.auto)
    }
}

struct DeploymentListing: APIRepresentable {
    var deployment: Deployment
    var failuresInARow: Int
    var coolingUntil: Date?
    var latencyMs: Double?
    var aboveCeiling: Bool

    func encodeFields(_ fields: inout APIFields) throws {
        try deployment.encodeFields(&fields)
        try fields.put("failures_in_a_row", failuresInARow)
        try fields.put("cooling_until", time: coolingUntil)
        try fields.put("latency_ms", latencyMs.map { ($0 * 10).rounded() / 10 })
        try fields.put("above_price_ceiling", aboveCeiling)
    }
}
