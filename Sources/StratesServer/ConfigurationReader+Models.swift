import Foundation
import StratesCore
import Yams

extension ConfigurationReader {
    static let modelKeys = "name, provider, model, timeout_seconds, strategy, retries, deployments"
    static let deploymentKeys = "provider, model, weight, timeout_seconds, context_tokens"

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
            for (k, v) in entries(item, path) {
                let key = path + "." + (k.string ?? "")
                switch k.string {
                case "name": name = string(v, key)
                case "provider": single.provider = string(v, key) ?? ""; hasSingle = true
                case "model": single.model = string(v, key); singleFields = true
                case "timeout_seconds": single.timeoutSeconds = seconds(v, key); singleFields = true
                case "retries": retries = int(v, key, 0...10) ?? 0
                case "strategy":
                    let text = string(v, key) ?? ""
                    if let parsed = RouteStrategy(rawValue: text) { strategy = parsed } else {
                        problem(v, key, "'\(text)' is not a strategy (expected: \(RouteStrategy.allCases.map(\.rawValue).joined(separator: ", ")))")
                    }
                case "deployments": deployments = parseDeployments(v, key)
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
            case (false, nil):
                problem(item, path + ".provider", "missing: which provider serves '\(name)' (or a list of deployments)")
                continue
            case (false, let list?) where list.isEmpty:
                problem(item, path + ".deployments", "'\(name)' needs at least one deployment")
                continue
            default:
                break
            }
            routes.append(ModelRoute(pattern: name, deployments: deployments ?? [single], strategy: strategy, retries: retries))
            modelNodes.append(item)
        }
        return routes
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

    /// Seconds, whole or not: `30`, `2.5`.
    mutating func seconds(_ node: Node, _ path: String) -> Double? {
        guard let text = node.scalar?.string, let value = Double(text), value > 0, value <= 86_400 else {
            problem(node, path, "expected seconds (a number above 0, e.g. 30 or 2.5)")
            return nil
        }
        return value
    }
}
