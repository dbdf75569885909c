import Foundation
import StratesCore
import StratesWire
import Synchronization

/// The price catalog in force on a running gateway; replaced whole when prices change.
/// Lookups (name normalisation, vendor fallbacks) are remembered per provider, model and
/// UTC day, since a price can change only from one day to the next.
public final class Pricing: Sendable {
    struct State {
        var catalog: PriceCatalog
        var found: [LookupKey: ModelPrice?] = [:]
    }

    struct LookupKey: Hashable {
        var provider: String
        var model: String
        var day: Int64
    }

    let state: Mutex<State>

    public init(_ catalog: PriceCatalog) {
        state = Mutex(State(catalog: catalog))
    }

    public func replace(with catalog: PriceCatalog) {
        state.withLock { $0 = State(catalog: catalog) }
    }

    public var current: PriceCatalog { state.withLock { $0.catalog } }

    /// The cost of a record's usage at the price of the model that served it (or, failing
    /// that, the model that was asked for); nil when no price is known. The simulated
    /// provider is priced as the model it stands in for, so sandbox runs show real money.
    /// `longContext` is for a record that sums many requests (see `ModelPrice.cost`).
    public func cost(of record: RequestRecord, longContext: Bool? = nil) -> NanoUSD? {
        guard let (price, discount) = price(of: record) else { return nil }
        return price.cost(of: record.usage, tier: record.serviceTier ?? .standard, discountBasisPoints: discount, longContext: longContext)
    }

    /// The cost of a record's usage at list price, without the provider's contract discount:
    /// what it would cost anyone (the face value of a benefit).
    public func listCost(of record: RequestRecord) -> NanoUSD? {
        guard let (price, _) = price(of: record) else { return nil }
        return price.cost(of: record.usage, tier: record.serviceTier ?? .standard)
    }

    /// The price a record is charged at: that of the model that served it, or failing
    /// that, of the model that was asked for.
    public func price(of record: RequestRecord) -> (price: ModelPrice, discount: Int64)? {
        for model in [record.servedModel, record.requestedModel].compactMap({ $0 }) {
            if let found = price(provider: record.provider ?? "", model: model, at: record.startedAt) { return found }
        }
        return nil
    }

    /// The list price of a provider's model on a date, and the provider's contract
    /// discount in basis points.
    public func price(provider: String, model: String, at date: Date) -> (price: ModelPrice, discount: Int64)? {
        let day = Int64((date.timeIntervalSince1970 / 86_400).rounded(.down))
        let key = LookupKey(provider: provider, model: model, day: day)
        let (price, discount) = state.withLock { state -> (ModelPrice?, Int64) in
            let discount = state.catalog.discounts[provider] ?? 0
            if let known = state.found[key] { return (known, discount) }
            let price = state.catalog.price(provider: provider, model: model, at: date)
            if state.found.count > 10_000 { state.found.removeAll() }
            state.found[key] = price
            return (price, discount)
        }
        return price.map { ($0, discount) }
    }
}

extension Pricing {
    /// What a request asks of budgets and grants at the model it is routed to: its input
    /// estimate and its maximum output (or `defaultOutputTokens`), at that model's price.
    func demand(for record: RequestRecord, maxTokens: Int64?, api: APIKind, defaultOutputTokens: Int64) -> BudgetDemand {
        let producesText = api != .embeddings
        return BudgetDemand(
            inputTokens: record.inputEstimate,
            outputTokens: producesText ? maxTokens ?? defaultOutputTokens : 0,
            canCap: producesText,
            cost: { output in
                var estimate = record
                estimate.usage = Usage(input: record.inputEstimate, output: output)
                return self.cost(of: estimate)
            }
        )
    }
}
