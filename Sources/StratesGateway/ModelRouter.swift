import Foundation
import StratesCore
import StratesProviders
import StratesWire

/// A deployment ready to be called: its provider, and the model id the upstream knows.
public struct RoutedDeployment: Sendable {
    public var provider: any Provider
    public var deployment: Deployment
    public var upstreamModel: String
    /// `provider/model`, as the ledger and the health table name it.
    public var name: String { "\(provider.name)/\(upstreamModel)" }
}

/// Resolves a requested model (a name, a glob, or an alias) to its route, and a route to
/// the deployments to try for one request, in order. The first route that matches wins.
public struct ModelRouter: Sendable {
    public let routes: [ModelRoute]
    public let providers: [String: any Provider]
    /// Evaluated in order before the requested model's own route; the first match wins.
    public let rules: [RoutingRule]

    /// True when some route is auto-routed: requests' task profiles are then worth reading.
    public let hasAutoRoutes: Bool

    public init(routes: [ModelRoute], providers: [any Provider], rules: [RoutingRule] = []) {
        self.hasAutoRoutes = routes.contains { $0.auto != nil }
        self.routes = routes
        self.providers = Dictionary(providers.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.rules = rules
    }

    /// Where a request goes: the route of the first rule it matches, else its model's own route.
    public func decide(_ request: RequestFeatures, anyProvider: Bool = false) -> (route: ModelRoute, rule: RoutingRule?)? {
        for rule in rules where rule.matches(request) {
            if let route = route(for: rule.route, anyProvider: anyProvider) { return (route, rule) }
        }
        return route(for: request.model, anyProvider: anyProvider).map { ($0, nil) }
    }

    /// The route serving `model`: the first whose pattern matches and that has a configured
    /// provider (any provider, with `anyProvider`, for tools that do not build them).
    public func route(for model: String, anyProvider: Bool = false) -> ModelRoute? {
        routes.first { route in
            Glob.matches(route.pattern, model) && (anyProvider || route.auto != nil || route.deployments.contains { providers[$0.provider] != nil })
        }
    }

    /// The first deployment of the route serving `model`.
    public func resolve(_ model: String) -> (provider: any Provider, upstreamModel: String)? {
        guard let route = route(for: model), let first = deployments(of: route, requested: model).first else { return nil }
        return (first.provider, first.upstreamModel)
    }

    /// The route's deployments whose provider exists, in configured order.
    func deployments(of route: ModelRoute, requested: String) -> [RoutedDeployment] {
        route.deployments.compactMap { deployment in
            providers[deployment.provider].map {
                RoutedDeployment(provider: $0, deployment: deployment, upstreamModel: deployment.upstreamModel(for: requested))
            }
        }
    }

    /// The deployments to try for one request, in order: those whose provider speaks `api`
    /// and whose list price is within the route's ceiling, ordered by the route's strategy
    /// with cooling ones last; `held` (the deployment that served the request's run before)
    /// first, for its warm prompt cache. `aboveCeiling`: those left out for their price.
    func plan(
        _ route: ModelRoute, requested: String, api: APIKind, health: DeploymentHealth, pricing: Pricing, now: Date,
        held: (deployment: String, provider: String)? = nil
    ) -> (deployments: [RoutedDeployment], aboveCeiling: [(deployment: RoutedDeployment, price: ModelPrice)]) {
        var usable = deployments(of: route, requested: requested).filter { Translation.serves(api, by: $0.provider.kind) }
        var aboveCeiling: [(deployment: RoutedDeployment, price: ModelPrice)] = []
        if route.hasPriceCeiling {
            usable = usable.filter { item in
                guard let (price, _) = pricing.price(provider: item.provider.name, model: item.upstreamModel, at: now), route.isAboveCeiling(price) else {
                    return true
                }
                aboveCeiling.append((item, price))
                return false
            }
        }
        guard usable.count > 1 else { return (usable, aboveCeiling) }
        var standings = health.standings(usable.map(\.name))
        if route.strategy == .lowestCost {
            for item in usable {
                guard let (price, _) = pricing.price(provider: item.provider.name, model: item.upstreamModel, at: now) else { continue }
                standings[item.name, default: DeploymentStanding()].price = price.input.nanoPerMillion + price.output.nanoPerMillion
            }
        }
        // The planner works on deployments named by provider/model; map back to the routed ones.
        let byName = Dictionary(usable.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let usableRoute = ModelRoute(pattern: route.pattern, deployments: usable.map(\.deployment), strategy: route.strategy, retries: route.retries)
        var random = SystemRandomNumberGenerator()
        var ordered = RoutePlanner.order(usableRoute, requested: requested, standings: standings, now: now, random: &random)
        if let held {
            let cooling = Set(standings.filter { $0.value.coolingUntil.map { $0 > now } ?? false }.keys)
            ordered = RoutePlanner.preferring(held.deployment, provider: held.provider, in: ordered, requested: requested, cooling: cooling)
        }
        return (ordered.compactMap { byName[$0.name(for: requested)] }, aboveCeiling)
    }

    /// The concrete model names, for `GET /v1/models` and error messages.
    public var advertisedModels: [String] {
        var seen = Set<String>()
        return routes.filter { !$0.isPattern }.map(\.pattern).filter { seen.insert($0).inserted }
    }
}
