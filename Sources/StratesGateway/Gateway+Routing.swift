import Foundation
import StratesCore
import StratesProviders
import StratesWire

/// Where a call goes, decided once: its route, the deployments to try in order, the record
/// it is metered under and the demand the controls are asked for.
struct RouteDecision: Sendable {
    /// The route served (an auto-routed alias's chosen tier).
    var route: ModelRoute
    /// The deployments to try, in order; empty when none can serve the call.
    var plan: [RoutedDeployment]
    /// The deployments left out for being above the route's price ceiling.
    var aboveCeiling: [(deployment: RoutedDeployment, price: ModelPrice)]
    var auto: AutoChoice?
    /// The run whose deployment is remembered for prompt-cache affinity (on routes of
    /// several deployments only).
    var affinityRun: String?
    var record: RequestRecord
    var demand: Demand
    /// Where the call would go first: named when no deployment can serve it.
    var first: RoutedDeployment
}

extension Gateway {
    /// Decides the call's route in one place: the routing rules, then the auto-routed
    /// tier, then the plan (health, prices, price ceilings, prompt-cache affinity), then a
    /// budget's downgrade to a cheaper model. A 404 for a model no route serves, a 503 when
    /// no tier of an auto route is served.
    func decideRoute(_ call: ModelCall) async throws(GatewayError) -> RouteDecision {
        let (request, summary, attribution) = (call.request, call.summary, call.attribution)
        let features = RequestFeatures(
            model: summary.model, attribution: attribution, inputTokens: summary.estimatedInputTokens, maxTokens: summary.maxTokens,
            hasTools: summary.hasTools, reasoning: summary.reasoning, hasImages: { RequestSummary.mentionsImages(request.body) }
        )
        let router = self.router
        guard let decided = router.decide(features) else {
            throw GatewayError.unknownModel(summary.model, available: router.advertisedModels)
        }
        var route = decided.route
        // With auto routing on, every request's task profile is kept, so that feedback on
        // any tier (asked for directly or not) teaches the router.
        let profile = router.hasAutoRoutes && request.api != .countTokens ? TaskProfile.classify(features) : nil
        var requested = summary.model
        let alias = route.pattern
        var auto: AutoChoice?
        if let policy = route.auto, let profile {
            var random = SystemRandomNumberGenerator()
            guard let choice = router.chooseTier(policy, of: route, profile: profile, book: tierRecords, random: &random) else {
                throw GatewayError(
                    status: 503,
                    message: "No tier of '\(route.pattern)' (\(policy.tiers.joined(separator: ", "))) is served by a configured provider right now.",
                    code: "no_tier_available")
            }
            auto = choice
            (route, requested) = (choice.route, choice.tier)
        }
        let run = route.deployments.count > 1 ? attribution.run : nil
        let held = run.flatMap { memory.affinity.held(run: $0, route: route.pattern, now: Date()) }
        let planned = router.plan(route, requested: requested, api: request.api, health: health, pricing: pricing, now: Date(), held: held)
        if route.hasPriceCeiling { watchCeiling(route, requested: requested, planned.aboveCeiling) }
        let first = planned.deployments.first ?? router.deployments(of: route, requested: requested)[0]
        let record = RequestRecord(
            id: call.id, startedAt: Date(), api: request.api.rawValue, stream: summary.stream, status: .completed,
            attribution: attribution, requestedModel: summary.model, servedModel: first.upstreamModel, provider: first.provider.name,
            inputEstimate: summary.estimatedInputTokens,
            route: auto != nil ? alias : route.deployments.count > 1 || decided.rule != nil ? route.pattern : nil,
            routingRule: decided.rule?.name, taskClass: profile?.text, autoTier: auto?.tier, routingReason: auto?.reason, baselineModel: auto?.baseline,
            // Workload profiles tell an agent's loop from people's turns; only runs need it.
            turn: attribution.run == nil || request.api == .countTokens || !call.isTurn
                ? nil : ConversationTurn.latest(body: request.body)?.rawValue
        )
        var decision = RouteDecision(
            route: route, plan: planned.deployments, aboveCeiling: planned.aboveCeiling, auto: auto, affinityRun: run, record: record,
            demand: demand(of: record, call), first: first)
        if !decision.plan.isEmpty { await downgradeForBudget(&decision, router: router, call) }
        return decision
    }

    /// What `record`, routed as it is, asks of the controls.
    func demand(of record: RequestRecord, _ call: ModelCall) -> Demand {
        Demand(record, summary: call.summary, api: call.api, pricing: pricing, defaultOutputTokens: limits.defaultOutputTokens)
    }

    /// Moves the call to a budget's cheaper model when that budget is at its downgrade
    /// threshold (counting this call's demand at the model it asked for), and the cheaper
    /// model has a deployment that can serve it; otherwise the decision stands.
    func downgradeForBudget(_ decision: inout RouteDecision, router: ModelRouter, _ call: ModelCall) async {
        guard let budgets = controls.budgets, budgets.downgradesAnyRequest,
            let downgrade = await budgets.downgrade(
                for: decision.record, budgets: budgets.covering(decision.record.attribution), demand: decision.demand)
        else { return }
        let plan =
            router.route(for: downgrade.model).map {
                router.plan($0, requested: downgrade.model, api: call.api, health: health, pricing: pricing, now: Date()).deployments
            } ?? []
        guard let target = plan.first else {
            call.logger.warning(
                "budget downgrade model cannot serve this request; keeping the requested model",
                metadata: ["budget": "\(downgrade.budget.name)", "model": "\(downgrade.model)"])
            return
        }
        decision.plan = plan
        decision.record.provider = target.provider.name
        decision.record.servedModel = target.upstreamModel
        decision.record.downgradedBy = downgrade.budget.name
        decision.demand = demand(of: decision.record, call)
    }

    /// A call no deployment of its route can serve: `count_tokens` is estimated here; every
    /// deployment above the route's price ceiling is a 403; a provider that does not speak
    /// the call's API is a 400. Either refusal is recorded.
    func unroutable(_ routed: RouteDecision, _ call: ModelCall) throws(GatewayError) -> GatewayResponse {
        if call.api == .countTokens { return countTokensLocally(record: routed.record, summary: call.summary) }
        var record = routed.record
        record.status = .rejected
        let refusal: GatewayError
        if !routed.aboveCeiling.isEmpty {
            let prices = routed.aboveCeiling.map {
                "\($0.deployment.name) at \(NanoUSD($0.price.input.nanoPerMillion)) input / \(NanoUSD($0.price.output.nanoPerMillion)) output"
            }
            record.error = "refused: price_ceiling"
            refusal = GatewayError(
                status: 403,
                message:
                    "Every deployment of route '\(routed.route.pattern)' is above its price ceiling (\(routed.route.ceilingText)): \(prices.joined(separator: "; ")). Ask an admin to raise the ceiling or add a cheaper deployment.",
                code: "price_ceiling"
            )
        } else {
            let first = routed.first.provider
            record.error = "api not supported by provider"
            refusal = GatewayError.badRequest(
                "The model '\(call.summary.model)' is served by '\(first.name)' (\(first.kind.rawValue)), which does not speak the \(call.api.rawValue) API. Call it through its own API, or route this model to a provider that does.",
                param: "model"
            )
        }
        record.httpStatus = refusal.statusCode
        settle(&record, request: call.request, logger: call.logger)
        throw refusal
    }

    /// `route|provider/model` of each deployment now above its route's price ceiling.
    public var aboveCeiling: Set<String> { memory.ceilings.current }

    /// Reports deployments that went above the route's price ceiling, or came back under it.
    func watchCeiling(_ route: ModelRoute, requested: String, _ aboveCeiling: [(deployment: RoutedDeployment, price: ModelPrice)]) {
        for event in memory.ceilings.update(route: route, requested: requested, aboveCeiling: aboveCeiling, at: Date()) {
            notices?.deliver(.route(event))
        }
    }
}
