import Foundation
import StratesCore
import StratesLedger

/// Model access policies on the request path: every policy covering a request (by team,
/// member, key, environment, …) must allow the model it asks for and the one that serves it.
public final class AccessGuard: Sendable {
    public let rules = RuleIndex<AccessPolicy>()
    let store: any RuleStore
    let pricing: Pricing

    public init(store: any RuleStore, pricing: Pricing) {
        self.store = store
        self.pricing = pricing
    }

    public func reload() async throws {
        rules.replace(with: try await store.rules(AccessPolicy.self))
    }

    /// Throws a 403 in the caller's format naming the first policy that refuses the request.
    func check(_ record: RequestRecord) throws(GatewayError) {
        let policies = rules.covering(record.attribution)
        guard !policies.isEmpty else { return }
        let request = AccessPolicy.Request(
            requested: record.requestedModel, served: record.servedModel ?? record.requestedModel, provider: record.provider ?? "",
            price: pricing.price(of: record)?.price, inputTokens: record.inputEstimate
        )
        for policy in policies {
            guard let reason = policy.refusal(of: request) else { continue }
            var error = GatewayError(
                status: 403,
                message:
                    "Policy '\(policy.name)' (\(policy.scope.text)) does not allow this request: \(reason). Use a model the policy allows, or ask an admin to change it ('strates policies show \(policy.name)').",
                code: "model_not_allowed", param: "model"
            )
            error.headers = [("x-strates-policy", policy.name)]
            throw error
        }
    }
}
