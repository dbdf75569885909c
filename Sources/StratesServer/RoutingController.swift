import Foundation
import Hummingbird
import StratesCore
import StratesGateway

/// `GET /api/routes`: every configured route with its deployments and how each is doing on
/// this gateway (failures in a row, cooling down until when, recent latency).
struct RoutingController<Context: RequestContext> {
    let runtime: StratesRuntime

    func addRoutes(to router: Router<Context>) {
        router.get("/api/routes") { request, _ in
            await AdminAccess.handle(request, runtime: runtime) { _ in
                HTTPAdapters.json(.ok, Array(Self.listing(runtime.gateway).utf8))
            }
        }
    }

    static func listing(_ gateway: Gateway) -> String {
        let health = Dictionary(gateway.health.snapshot.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let above = gateway.aboveCeiling
        let routes = gateway.router.routes.map { route -> String in
            let deployments = route.deployments.map { deployment -> String in
                let name = deployment.name(for: route.pattern)
                let state = health[name]
                let fields = [
                    #""provider":\#(JSONText.quote(deployment.provider))"#,
                    #""model":\#(deployment.model.map(JSONText.quote) ?? "null")"#,
                    #""weight":\#(deployment.weight)"#,
                    #""timeout_seconds":\#(deployment.timeoutSeconds.map { String($0) } ?? "null")"#,
                    #""failures_in_a_row":\#(state?.failures ?? 0)"#,
                    #""cooling_until":\#(state?.coolingUntil.map { JSONText.quote(BudgetText.timestamp($0)) } ?? "null")"#,
                    #""latency_ms":\#(state?.latencyMs.map { String(($0 * 10).rounded() / 10) } ?? "null")"#,
                    #""above_price_ceiling":\#(above.contains(route.pattern + "|" + name))"#,
                ]
                return "{" + fields.joined(separator: ",") + "}"
            }
            let ceiling = [
                route.maxInputPrice.map { #""max_input_usd_per_mtok":\#(JSONText.quote(NanoUSD($0.nanoPerMillion).dollars))"# },
                route.maxOutputPrice.map { #""max_output_usd_per_mtok":\#(JSONText.quote(NanoUSD($0.nanoPerMillion).dollars))"# },
            ].compactMap { $0 }.map { "," + $0 }.joined()
            return #"{"name":\#(JSONText.quote(route.pattern)),"strategy":"\#(route.strategy.rawValue)","retries":\#(route.retries)\#(ceiling),"deployments":[\#(deployments.joined(separator: ","))]}"#
        }
        return #"{"object":"list","data":[\#(routes.joined(separator: ","))]}"#
    }
}
