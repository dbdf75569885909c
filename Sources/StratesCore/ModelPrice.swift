import Foundation

/// List prices of one provider's model from a date on, per token kind.
public struct ModelPrice: Hashable, Sendable, Codable {
    public var provider: String
    public var model: String
    /// The first day (UTC) this price applies.
    public var effectiveFrom: Date
    public var input: TokenRate
    public var output: TokenRate
    public var cacheRead: TokenRate?
    public var cacheWrite5m: TokenRate?
    public var cacheWrite1h: TokenRate?
    /// Rates that replace the base rates once a request's total input exceeds `threshold` tokens.
    public var longContext: LongContextTier?
    /// Multipliers for the batch and priority service tiers, in basis points (5_000 = 0.5×).
    public var batchBasisPoints: Int64?
    public var priorityBasisPoints: Int64?
    /// Where this price came from: "builtin", "litellm", "config".
    public var source: String

    public init(
        provider: String, model: String, effectiveFrom: Date, input: TokenRate, output: TokenRate,
        cacheRead: TokenRate? = nil, cacheWrite5m: TokenRate? = nil, cacheWrite1h: TokenRate? = nil,
        longContext: LongContextTier? = nil, batchBasisPoints: Int64? = nil, priorityBasisPoints: Int64? = nil,
        source: String = "builtin"
    ) {
        self.provider = provider
        self.model = model
        self.effectiveFrom = effectiveFrom
        self.input = input
        self.output = output
        self.cacheRead = cacheRead
        self.cacheWrite5m = cacheWrite5m
        self.cacheWrite1h = cacheWrite1h
        self.longContext = longContext
        self.batchBasisPoints = batchBasisPoints
        self.priorityBasisPoints = priorityBasisPoints
        self.source = source
    }
}

public struct LongContextTier: Hashable, Sendable, Codable {
    public var threshold: Int64
    public var input: TokenRate
    public var output: TokenRate
    public var cacheRead: TokenRate?

    public init(threshold: Int64, input: TokenRate, output: TokenRate, cacheRead: TokenRate? = nil) {
        self.threshold = threshold
        self.input = input
        self.output = output
        self.cacheRead = cacheRead
    }
}

/// The service tier a request ran on; batch and priority change the price.
public enum ServiceTier: String, Sendable, Codable {
    case standard, batch, priority

    /// The tier a provider reports: OpenAI `service_tier` (`default`, `flex`, `priority`,
    /// `scale`), Anthropic `usage.service_tier` (`standard`, `priority`, `batch`). Flex is
    /// billed at batch rates.
    public init(reported: String?) {
        switch reported?.lowercased() {
        case "priority": self = .priority
        case "flex", "batch": self = .batch
        default: self = .standard
        }
    }

    /// Nil for the standard tier, which records leave implicit.
    public var nonStandard: ServiceTier? { self == .standard ? nil : self }
}

/// The cost of a request: known to the nano-USD, or unknown because no price was found.
/// An unknown cost is never recorded as zero.
public enum Cost: Hashable, Sendable {
    case known(NanoUSD)
    case unknown

    public var nanoUSD: NanoUSD? {
        if case .known(let value) = self { return value }
        return nil
    }
}

extension ModelPrice {
    /// The cost of `usage` at this price, after a contract discount (basis points off list).
    ///
    /// Cache kinds without their own rate fall back to the conventional multiples of the
    /// input rate (read 0.1×, 5-minute write 1.25×, 1-hour write 2×), the rule every
    /// major provider uses; reasoning tokens are part of `output` and not charged twice.
    ///
    /// `longContext` says whether the long-context rates apply. Nil decides it from `usage`,
    /// which is right for one request only: usage summed over many requests (a day's
    /// rollup, a provider export's bucket) passes above the threshold without any request
    /// having done so, so its caller says which it was.
    public func cost(of usage: Usage, tier: ServiceTier = .standard, discountBasisPoints: Int64 = 0, longContext isLong: Bool? = nil) -> NanoUSD {
        var inputRate = input
        var outputRate = output
        var readRate = cacheRead ?? input.scaled(basisPoints: 1_000)
        if let long = longContext, isLong ?? (usage.totalInput > long.threshold) {
            inputRate = long.input
            outputRate = long.output
            readRate = long.cacheRead ?? long.input.scaled(basisPoints: 1_000)
        }
        let write5m = cacheWrite5m ?? inputRate.scaled(basisPoints: 12_500)
        let write1h = cacheWrite1h ?? inputRate.scaled(basisPoints: 20_000)
        var scaled: Int128 = 0
        for (tokens, rate) in [
            (usage.input, inputRate), (usage.output, outputRate), (usage.cacheRead, readRate),
            (usage.cacheWrite5m, write5m), (usage.cacheWrite1h, write1h),
        ] {
            scaled += Int128(tokens) * Int128(rate.nanoPerMillion)
        }
        var tierBasisPoints: Int128 = 10_000
        switch tier {
        case .standard: break
        case .batch: tierBasisPoints = Int128(batchBasisPoints ?? 10_000)
        case .priority: tierBasisPoints = Int128(priorityBasisPoints ?? 10_000)
        }
        let kept = Int128(10_000 - min(max(discountBasisPoints, 0), 10_000))
        // One division at the end, so rounding (half up) happens once: nano-per-million → nano.
        let divisor: Int128 = 1_000_000 * 10_000 * 10_000
        let total = (scaled * tierBasisPoints * kept + divisor / 2) / divisor
        return NanoUSD(Int64(clamping: total))
    }
}
