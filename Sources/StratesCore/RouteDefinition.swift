import Foundation

/// A route defined through the admin API (`/api/routes`): an alias or model name and the
/// deployments that serve it. Routes from the API are tried before the configuration's,
/// so an alias defined here overrides one of the same name in the file.
public struct RouteDefinition: ControlRule {
    public static let kind = "route"
    public static let noun = "route"
    public static let collection = "routes"
    public static let fields: Set<String> = [
        "name", "scope", "strategy", "retries", "deployments", "max_input_usd_per_mtok", "max_output_usd_per_mtok", "auto",
    ]
    static let deploymentFields: Set<String> = ["provider", "model", "weight", "timeout_seconds", "first_token_timeout_seconds", "context_tokens"]

    public var id: String
    public var name: String
    /// Routes serve the whole organization: `organization:*` unless another is given.
    public var scope: BudgetScope
    public var route: ModelRoute
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: String, route: ModelRoute, scope: BudgetScope = BudgetScope(kind: .organization, value: "*"), createdAt: Date = Date(), updatedAt: Date = Date()
    ) {
        self.id = id
        self.name = route.pattern
        self.scope = scope
        self.route = route
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// What clients may ask for: letters, digits and `-_./:`, with `*` or `?` for a glob.
    static func nameProblem(_ name: String) -> String? {
        let allowed = name.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || "-_./:*?".unicodeScalars.contains($0) }
        guard !name.isEmpty, name.count <= 128, allowed else {
            return "name '\(name)' must be 1 to 128 letters, digits, '-', '_', '.', '/', ':' (or '*' and '?' for a pattern)"
        }
        return nil
    }

    public static func make(from fields: inout RuleFields, current: RouteDefinition?, id: String, now: Date) throws(RuleProblems) -> RouteDefinition {
        var route = current?.route ?? ModelRoute(pattern: "", deployments: [])
        if case .set(let name) = fields.text("name") { route.pattern = name }
        if let problem = nameProblem(route.pattern) { fields.problem(problem) }
        var scope = current?.scope ?? BudgetScope(kind: .organization, value: "*")
        if case .set(let text) = fields.text("scope") {
            if let parsed = BudgetScope(text: text), parsed.kind == .organization {
                scope = parsed
            } else {
                fields.problem("a route's scope is the organization, e.g. organization:acme (default: organization:*)")
            }
        }
        if case .set(let text) = fields.text("strategy") {
            if let strategy = RouteStrategy(rawValue: text) {
                route.strategy = strategy
            } else {
                fields.problem("strategy '\(text)' must be one of \(RouteStrategy.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }
        switch fields.wholeNumber("retries", minimum: 0) {
        case .set(let n) where n <= 10: route.retries = Int(n)
        case .set: fields.problem("'retries' must be 0 to 10")
        case .clear: route.retries = 0
        case .keep: break
        }
        for (key, path) in [("max_input_usd_per_mtok", \ModelRoute.maxInputPrice), ("max_output_usd_per_mtok", \ModelRoute.maxOutputPrice)] {
            switch fields.dollars(key) {
            case .set(let nano): route[keyPath: path] = TokenRate(nanoPerMillion: nano)
            case .clear: route[keyPath: path] = nil
            case .keep: break
            }
        }
        if let deployments = fields.deployments("deployments") { route.deployments = deployments }
        switch fields.autoPolicy("auto") {
        case .set(let policy): route.auto = policy
        case .clear: route.auto = nil
        case .keep: break
        }
        if route.deployments.isEmpty && route.auto == nil {
            fields.problem("'deployments' is required: a list of {provider, model, weight, timeout_seconds, context_tokens} (or 'auto' tiers)")
        }
        if let auto = route.auto, auto.tiers.contains(route.pattern), route.deployments.isEmpty {
            fields.problem("'\(route.pattern)' is one of its own auto tiers, so it needs deployments of its own")
        }
        try fields.check()
        return RouteDefinition(id: id, route: route, scope: scope, createdAt: current?.createdAt ?? now, updatedAt: now)
    }

    public var summary: String {
        "\(route.strategy.rawValue)\(route.retries > 0 ? ", \(route.retries) retries" : ""): "
            + route.deployments.map { "\($0.provider)/\($0.model ?? "(as asked)")" }.joined(separator: ", ")
            + (route.hasPriceCeiling ? "; ceiling \(route.ceilingText)" : "")
            + (route.auto.map { (route.deployments.isEmpty ? "" : "; ") + $0.text } ?? "")
    }
}

extension RuleFields {
    /// `{"tiers": [...], "target_success", "min_samples", "exploration", "baseline"}`; null clears it.
    mutating func autoPolicy(_ key: String) -> FieldChange<AutoRoutingPolicy> {
        switch raw(key) {
        case .absent: return .keep
        case .null: return .clear
        case .value(let value):
            guard let object = value as? [String: Any] else {
                problem("'\(key)' must be an object such as {\"tiers\": [\"fast\", \"smart\"], \"target_success\": 0.9}")
                return .keep
            }
            var fields = RuleFields(object, known: Set(AutoRoutingPolicy.keys))
            var policy = AutoRoutingPolicy(tiers: [])
            if let tiers = object["tiers"] as? [Any], tiers.allSatisfy({ $0 is String }) {
                policy.tiers = tiers.compactMap { $0 as? String }
            } else {
                fields.problem("'tiers' must be a list of route names, cheapest first")
            }
            for (name, path) in [("target_success", \AutoRoutingPolicy.targetSuccess), ("exploration", \AutoRoutingPolicy.exploration)] {
                guard let given = object[name] else { continue }
                if let number = Self.number(given)?.doubleValue {
                    policy[keyPath: path] = number
                } else {
                    fields.problem("'\(name)' must be a number from 0 to 1")
                }
            }
            if case .set(let samples) = fields.wholeNumber("min_samples", minimum: 1) { policy.minimumSamples = Int(min(samples, 1_000_000)) }
            if case .set(let baseline) = fields.text("baseline") {
                policy.baseline = baseline
                if !policy.tiers.contains(baseline) { fields.problem("'baseline' must be one of the tiers") }
            }
            for message in policy.problems(route: key) { fields.problem(message) }
            for message in fields.problems { problem("\(key): \(message)") }
            return .set(policy)
        }
    }

    /// A list of deployment objects; nil when absent (keep) or unreadable (a problem is noted).
    mutating func deployments(_ key: String) -> [Deployment]? {
        guard case .value(let value) = raw(key) else { return nil }
        guard let items = value as? [Any] else {
            problem("'\(key)' must be a list of {provider, model, weight, timeout_seconds, context_tokens}")
            return nil
        }
        var deployments: [Deployment] = []
        for (index, item) in items.enumerated() {
            guard let object = item as? [String: Any] else {
                problem("\(key)[\(index)] must be an object such as {\"provider\": \"openai\", \"model\": \"gpt-4o-mini\"}")
                continue
            }
            var fields = RuleFields(object, known: RouteDefinition.deploymentFields)
            var deployment = Deployment(provider: "")
            if case .set(let provider) = fields.text("provider"), !provider.isEmpty {
                deployment.provider = provider
            } else {
                fields.problem("'provider' is required")
            }
            if case .set(let model) = fields.text("model") { deployment.model = model.isEmpty ? nil : model }
            if case .set(let weight) = fields.wholeNumber("weight", minimum: 0) { deployment.weight = Int(min(weight, 1_000_000)) }
            if case .set(let tokens) = fields.wholeNumber("context_tokens") { deployment.contextTokens = tokens }
            for (name, path) in [("timeout_seconds", \Deployment.timeoutSeconds), ("first_token_timeout_seconds", \Deployment.firstTokenTimeoutSeconds)] {
                guard let seconds = object[name] else { continue }
                if let number = Self.number(seconds)?.doubleValue, number > 0, number <= 86_400 {
                    deployment[keyPath: path] = number
                } else {
                    fields.problem("'\(name)' must be seconds above 0, e.g. 30 or 2.5")
                }
            }
            for problem in fields.problems { self.problem("\(key)[\(index)]: \(problem)") }
            deployments.append(deployment)
        }
        return deployments
    }
}
