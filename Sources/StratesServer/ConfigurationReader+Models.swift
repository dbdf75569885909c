import Foundation
import StratesCore
import Yams

extension ConfigurationReader {
    static let modelKeys = "name, provider, model, timeout_seconds, strategy, retries, deployments, max_input_usd_per_mtok, max_output_usd_per_mtok, auto"
    static let deploymentKeys = "provider, model, weight, timeout_seconds, first_token_timeout_seconds, context_tokens"

    /// `models`: a list of routes. The short form serves a name (or glob) from one provider:
    /// `{name: "gpt-*", provider: openai}`; the long form lists deployments with a strategy:
    /// `{name: fast, strategy: fallback, retries: 1, deployments: [{provider: openai, model: gpt-4o-mini}, ...]}`.
    mutating func parseModels(_ node: Node) -> [ModelRoute] {
        guard let sequence = node.sequence else {
            problem(node, "models", "expected a list of {name, provider, model} or {name, strategy, deployments}")
            return []
        }
        var routes: [ModelRoute] = []
        for (index, item) in sequence.enumerated() {
            let path = "models[\(index)]"
            var name: String?
            var single = Deployment(provider: "")
            var hasSingle = false
            var singleFields = false
            var deployments: [Deployment]?
            var strategy = RouteStrategy.fallback
            var retries = 0
            var ceilings: (input: TokenRate?, output: TokenRate?) = (nil, nil)
            var auto: AutoRoutingPolicy?
            for (k, v) in entries(item, path) {
                let key = path + "." + (k.string ?? "")
                switch k.string {
                case "name": name = string(v, key)
                case "provider":
                    single.provider = string(v, key) ?? ""
                    hasSingle = true
                case "model":
                    single.model = string(v, key)
                    singleFields = true
                case "timeout_seconds":
                    single.timeoutSeconds = seconds(v, key)
                    singleFields = true
                case "retries": retries = int(v, key, 0...10) ?? 0
                case "strategy":
                    let text = string(v, key) ?? ""
                    if let parsed = RouteStrategy(rawValue: text) {
                        strategy = parsed
                    } else {
                        problem(v, key, "'\(text)' is not a strategy (expected: \(RouteStrategy.allCases.map(\.rawValue).joined(separator: ", ")))")
                    }
                case "deployments": deployments = parseDeployments(v, key)
                case "max_input_usd_per_mtok": ceilings.input = rate(v, key)
                case "max_output_usd_per_mtok": ceilings.output = rate(v, key)
                case "auto": auto = parseAuto(v, key)
                default: problem(k, key, "unknown setting (expected: \(Self.modelKeys))")
                }
            }
            guard let name, !name.isEmpty else {
                problem(item, path + ".name", "missing: the model name clients ask for (an alias such as fast, or a glob such as claude-*)")
                continue
            }
            switch (hasSingle, deployments) {
            case (_, _?) where hasSingle || singleFields:
                problem(item, path, "give either provider, model and timeout_seconds (one deployment) or deployments (several), not both")
                continue
            case (false, nil) where auto != nil:
                break
            case (false, nil):
                problem(item, path + ".provider", "missing: which provider serves '\(name)' (or a list of deployments, or auto tiers)")
                continue
            case (false, let list?) where list.isEmpty:
                problem(item, path + ".deployments", "'\(name)' needs at least one deployment")
                continue
            default:
                break
            }
            let own = deployments ?? (hasSingle ? [single] : [])
            if let auto, auto.tiers.contains(name), own.isEmpty {
                problem(item, path + ".auto.tiers", "'\(name)' is one of its own tiers, so it needs deployments of its own")
            }
            routes.append(
                ModelRoute(
                    pattern: name, deployments: own, strategy: strategy, retries: retries, maxInputPrice: ceilings.input,
                    maxOutputPrice: ceilings.output, auto: auto
                ))
            modelNodes.append(item)
        }
        return routes
    }

    /// `auto: {tiers: [fast, smart], target_success: 0.9, min_samples: 20, exploration: 0.05, baseline: smart}`.
    mutating func parseAuto(_ node: Node, _ path: String) -> AutoRoutingPolicy? {
        var policy = AutoRoutingPolicy(tiers: [])
        for (k, v) in entries(node, path) {
            let key = path + "." + (k.string ?? "")
            switch k.string {
            case "tiers":
                guard let items = v.sequence else {
                    problem(v, key, "expected a list of routes, cheapest first (e.g. [fast, smart])")
                    continue
                }
                policy.tiers = items.enumerated().compactMap { index, item in string(item, "\(key)[\(index)]") }
            case "target_success": policy.targetSuccess = fraction(v, key) ?? policy.targetSuccess
            case "exploration": policy.exploration = fraction(v, key) ?? policy.exploration
            case "min_samples": policy.minimumSamples = int(v, key, 1...1_000_000) ?? policy.minimumSamples
            case "baseline": policy.baseline = string(v, key)
            default: problem(k, key, "unknown setting (expected: \(AutoRoutingPolicy.keys.joined(separator: ", ")))")
            }
        }
        if let baseline = policy.baseline, !policy.tiers.contains(baseline) {
            problem(node, path + ".baseline", "'\(baseline)' is not one of the tiers (\(policy.tiers.joined(separator: ", ")))")
        }
        for message in policy.problems(route: path) { problem(node, path, message) }
        return policy
    }

    /// A share from 0 to 1: `0.9`.
    mutating func fraction(_ node: Node, _ path: String) -> Double? {
        guard let text = node.scalar?.string, let value = Double(text), (0...1).contains(value) else {
            problem(node, path, "expected a number from 0 to 1 (e.g. 0.9)")
            return nil
        }
        return value
    }

    mutating func parseDeployments(_ node: Node, _ path: String) -> [Deployment] {
        guard let sequence = node.sequence else {
            problem(node, path, "expected a list of {provider, model, weight, timeout_seconds, context_tokens}")
            return []
        }
        return sequence.enumerated().compactMap { index, item in
            let itemPath = "\(path)[\(index)]"
            var deployment = Deployment(provider: "")
            for (k, v) in entries(item, itemPath) {
                let key = itemPath + "." + (k.string ?? "")
                switch k.string {
                case "provider": deployment.provider = string(v, key) ?? ""
                case "model": deployment.model = string(v, key)
                case "weight": deployment.weight = int(v, key, 0...1_000_000) ?? 1
                case "timeout_seconds": deployment.timeoutSeconds = seconds(v, key)
                case "context_tokens": deployment.contextTokens = int(v, key, 1...100_000_000).map(Int64.init)
                case "first_token_timeout_seconds": deployment.firstTokenTimeoutSeconds = seconds(v, key)
                default: problem(k, key, "unknown setting (expected: \(Self.deploymentKeys))")
                }
            }
            guard !deployment.provider.isEmpty else {
                problem(item, itemPath + ".provider", "missing: which provider this deployment calls")
                return nil
            }
            return deployment
        }
    }

    /// Dollars per million tokens: `3`, `0.15`.
    mutating func rate(_ node: Node, _ path: String) -> TokenRate? {
        guard let text = node.scalar?.string, let rate = TokenRate(dollarsPerMillion: text), rate.nanoPerMillion >= 0 else {
            problem(node, path, "expected dollars per million tokens (e.g. 3 or 0.15)")
            return nil
        }
        return rate
    }

    /// An amount of dollars, read exactly: `5`, `2.50`.
    mutating func dollars(_ node: Node, _ path: String) -> NanoUSD? {
        guard let text = node.scalar?.string, let nano = DecimalText.scaled(text, decimals: 9), nano <= Bounds.money else {
            problem(node, path, "expected an amount of dollars up to 1000000000 (e.g. 5 or 2.50)")
            return nil
        }
        return NanoUSD(nano)
    }

    /// Seconds, whole or not: `30`, `2.5`.
    mutating func seconds(_ node: Node, _ path: String) -> Double? {
        guard let text = node.scalar?.string, let value = Double(text), value > 0, value <= 86_400 else {
            problem(node, path, "expected seconds (a number above 0, e.g. 30 or 2.5)")
            return nil
        }
        return value
    }

    static let ruleKeys = "name, models, when, route"
    static let conditionKeys =
        RoutingRule.attributes.joined(separator: ", ") + ", input_tokens_over, input_tokens_at_most, max_tokens_over, tools, images, reasoning"

    /// `routing_rules`: `[{name, models: "gpt-*", when: {process: planner, tools: true}, route: smart}]`, in order.
    mutating func parseRoutingRules(_ node: Node) -> [RoutingRule] {
        guard let sequence = node.sequence else {
            problem(node, "routing_rules", "expected a list of {name, models, when, route}")
            return []
        }
        var rules: [RoutingRule] = []
        for (index, item) in sequence.enumerated() {
            let path = "routing_rules[\(index)]"
            var rule = RoutingRule(name: "rule-\(index + 1)", conditions: [], route: "")
            for (k, v) in entries(item, path) {
                let key = path + "." + (k.string ?? "")
                switch k.string {
                case "name": rule.name = string(v, key) ?? rule.name
                case "models": rule.models = string(v, key) ?? "*"
                case "route": rule.route = string(v, key) ?? ""
                case "when": rule.conditions = parseConditions(v, key)
                default: problem(k, key, "unknown setting (expected: \(Self.ruleKeys))")
                }
            }
            guard !rule.route.isEmpty else {
                problem(item, path + ".route", "missing: the alias or model the matching requests go to")
                continue
            }
            rules.append(rule)
            ruleNodes.append(item)
        }
        return rules
    }

    mutating func parseConditions(_ node: Node, _ path: String) -> [RoutingRule.Condition] {
        var conditions: [RoutingRule.Condition] = []
        for (k, v) in entries(node, path) {
            let field = k.string ?? ""
            let key = path + "." + field
            switch field {
            case _ where RoutingRule.attributes.contains(field):
                if let pattern = string(v, key) { conditions.append(.attribute(field, pattern: pattern)) }
            case "input_tokens_over": if let n = int(v, key, 0...100_000_000) { conditions.append(.inputTokensOver(Int64(n))) }
            case "input_tokens_at_most": if let n = int(v, key, 0...100_000_000) { conditions.append(.inputTokensAtMost(Int64(n))) }
            case "max_tokens_over": if let n = int(v, key, 0...100_000_000) { conditions.append(.maxTokensOver(Int64(n))) }
            case "tools": if let flag = bool(v, key) { conditions.append(.tools(flag)) }
            case "images": if let flag = bool(v, key) { conditions.append(.images(flag)) }
            case "reasoning": if let effort = string(v, key) { conditions.append(.reasoning(effort.lowercased())) }
            default: problem(k, key, "unknown condition (expected: \(Self.conditionKeys))")
            }
        }
        return conditions
    }
}
