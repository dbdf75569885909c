import Foundation
import StratesCore
import Synchronization

/// The price catalog in force on a running gateway; replaced whole when prices change.
public final class Pricing: Sendable {
    let catalog: Mutex<PriceCatalog>

    public init(_ catalog: PriceCatalog) {
        self.catalog = Mutex(catalog)
    }

    public func replace(with catalog: PriceCatalog) {
        self.catalog.withLock { $0 = catalog }
    }

    public var current: PriceCatalog { catalog.withLock { $0 } }

    /// The cost of a record's usage at the price of the model that served it (or, failing
    /// that, the model that was asked for); nil when no price is known. The simulated
    /// provider is priced as the model it stands in for, so sandbox runs show real money.
    public func cost(of record: RequestRecord) -> NanoUSD? {
        let provider = record.provider ?? ""
        let catalog = self.catalog.withLock { $0 }
        for model in [record.servedModel, record.requestedModel].compactMap({ $0 }) {
            if let cost = catalog.cost(of: record.usage, provider: provider, model: model, tier: record.serviceTier ?? .standard, at: record.startedAt).nanoUSD {
                return cost
            }
        }
        return nil
    }
}
