import Foundation

/// Effective-dated prices for provider models, plus per-provider contract discounts.
public struct PriceCatalog: Sendable {
    private var entries: [String: [ModelPrice]] = [:]
    /// Contract discount per provider name, in basis points off list price.
    public var discounts: [String: Int64] = [:]

    public init(_ prices: [ModelPrice] = [], discounts: [String: Int64] = [:]) {
        self.discounts = discounts
        for price in prices { add(price) }
    }

    public var count: Int { entries.values.reduce(0) { $0 + $1.count } }
    public var all: [ModelPrice] { entries.values.flatMap { $0 } }

    /// Adds a price; a later `effectiveFrom` supersedes an earlier one from that day on,
    /// and a price added later wins over one with the same date.
    public mutating func add(_ price: ModelPrice) {
        let key = Self.key(provider: price.provider, model: price.model)
        var list = entries[key, default: []]
        list.removeAll { $0.effectiveFrom == price.effectiveFrom }
        list.append(price)
        list.sort { $0.effectiveFrom < $1.effectiveFrom }
        entries[key] = list
    }

    /// The price of `model` served by `provider` at `date`. Looks for the provider's own
    /// entry first, then for the same model under the vendor that makes it (so an
    /// OpenAI-compatible host serving `gpt-oss-120b` still finds a price).
    public func price(provider: String, model: String, at date: Date = Date()) -> ModelPrice? {
        let name = Self.normalize(model)
        let candidates = [Self.key(provider: provider, model: name)] + Self.vendors.map { Self.key(provider: $0, model: name) }
        for key in candidates {
            if let list = entries[key], let found = list.last(where: { $0.effectiveFrom <= date }) { return found }
        }
        // Any provider that lists the model.
        let suffix = "|" + name
        for (key, list) in entries.sorted(by: { $0.key < $1.key }) where key.hasSuffix(suffix) {
            if let found = list.last(where: { $0.effectiveFrom <= date }) { return found }
        }
        return nil
    }

    public func cost(of usage: Usage, provider: String, model: String, tier: ServiceTier = .standard, at date: Date = Date()) -> Cost {
        guard let price = price(provider: provider, model: model, at: date) else { return .unknown }
        return .known(price.cost(of: usage, tier: tier, discountBasisPoints: discounts[provider] ?? 0))
    }

    static let vendors = ["openai", "anthropic", "google", "open"]

    static func key(provider: String, model: String) -> String {
        provider.lowercased() + "|" + normalize(model)
    }

    /// `anthropic/claude-sonnet-4-5-20250929` → `claude-sonnet-4-5`; `gpt-4o-2024-08-06` → `gpt-4o`.
    public static func normalize(_ model: String) -> String {
        var name = model.lowercased()
        if let slash = name.lastIndex(of: "/") { name = String(name[name.index(after: slash)...]) }
        for suffix in ["-latest"] where name.hasSuffix(suffix) { name.removeLast(suffix.count) }
        let parts = name.split(separator: "-", omittingEmptySubsequences: false)
        // Trailing date: -YYYYMMDD or -YYYY-MM-DD.
        if let last = parts.last, last.count == 8, last.allSatisfy(\.isNumber), last.hasPrefix("20") {
            return parts.dropLast().joined(separator: "-")
        }
        if parts.count > 3 {
            let tail = parts.suffix(3)
            let t = Array(tail)
            if t[0].count == 4, t[0].hasPrefix("20"), t[1].count == 2, t[2].count == 2,
                t.allSatisfy({ $0.allSatisfy(\.isNumber) })
            {
                return parts.dropLast(3).joined(separator: "-")
            }
        }
        return name
    }
}
