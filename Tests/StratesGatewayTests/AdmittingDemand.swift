import Foundation

@testable import StratesCore
@testable import StratesGateway
@testable import StratesWire

/// The demand the pipeline computes for a routed record with `summary`'s limits.
func demand(_ record: RequestRecord, _ summary: RequestSummary, api: APIKind = .chatCompletions, pricing: Pricing = Pricing(PriceCatalog.builtIn()))
    -> Demand
{
    Demand(record, summary: summary, api: api, pricing: pricing, defaultOutputTokens: 4_096)
}

extension GrantGuard {
    func admit(_ record: RequestRecord, summary: RequestSummary, api: APIKind, pricing: Pricing) async throws(GatewayError) -> String? {
        try await admit(record, demand: demand(record, summary, api: api, pricing: pricing))
    }
}

extension ReserveGuard {
    func admit(_ record: RequestRecord, summary: RequestSummary, api: APIKind, pricing: Pricing) async throws(GatewayError) {
        try await admit(record, demand: demand(record, summary, api: api, pricing: pricing))
    }
}

extension BudgetGuard {
    func admit(_ record: RequestRecord, budgets: [Budget], summary: RequestSummary, api: APIKind) async throws(GatewayError) -> BudgetAdmission {
        try await admit(record, budgets: budgets, demand: demand(record, summary, api: api))
    }
}
