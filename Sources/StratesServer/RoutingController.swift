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
            HTTPAdapters.json(.ok, Array(Self.listing(runtime.gateway, definitions: runtime.routeDefinitions.all).utf8))
        }
    }

    static func listing(_ gateway: Gateway, definitions: [RouteDefinition]) -> String {
        let health = Dictionary(gateway.health.snapshot.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let above = gateway.aboveCeiling
        let fromAPI = definitions.count
        let routes = gateway.router.routes.enumerated().map { index, route -> String in
            let deployments = route.deployments.map { deployment -> String in
                let name = deployment.name(for: route.pattern)
                let state = health[name]
                let fields =
                    deployment.jsonFields + [
                        #""failures_in_a_row":\#(state?.failures ?? 0)"#,
                        #""cooling_until":\#(state?.coolingUntil.map { JSONText.quote(BudgetText.timestamp($0)) } ?? "null")"#,
                        #""latency_ms":\#(state?.latencyMs.map { String(($0 * 10).rounded() / 10) } ?? "null")"#,
                        #""above_price_ceiling":\#(above.contains(route.pattern + "|" + name))"#,
                    ]
                return "{" + fields.joined(separator: ",") + "}"
            }
            let auto = route.auto.map { "{" + $0.jsonFields.joined(separator: ",") + "}" } ?? "null"
            return
                #"{"name":\#(JSONText.quote(route.pattern)),"source":"\#(index < fromAPI ? "api" : "config")","strategy":"\#(route.strategy.rawValue)","retries":\#(route.retries),\#(route.ceilingJSONFields.joined(separator: ",")),"deployments":[\#(deployments.joined(separator: ","))],"auto":\#(auto)}"#
        }
        return #"{"object":"list","data":[\#(routes.joined(separator: ","))]}"#
    }
}
