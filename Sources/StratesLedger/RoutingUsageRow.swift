import Foundation
import StratesCore

/// Ledger usage grouped for the routing report: one row per route, requested and served
/// model, provider, service tier, UTC day, and outcome.
public struct RoutingUsageRow: Sendable, Equatable {
    /// The alias (route) when the request went through a multi-deployment route, else the requested model.
    public var route: String
    public var requestedModel: String
    public var provider: String?
    public var servedModel: String?
    public var serviceTier: ServiceTier?
    public var day: Date
    /// Failed or cut short.
    public var failed: Bool
    /// Needed at least one fallback or retry.
    public var fellBack: Bool
    public var requests: Int64
    public var usage: Usage
    public var cost: Int64
    public var unknownCost: Int64
    /// `provider/model` an auto-routed request's savings are measured against.
    public var baseline: String?
    /// The requests took more input than `longContextThreshold` each (priced at a model's
    /// long-context rates where it has them).
    public var longContext = false

    /// The input (cache included) above which a request is long-context: where Anthropic and
    /// Google change rates. The rows are split by it, since their usage is summed.
    public static let longContextThreshold: Int64 = 200_000

    public init(
        route: String, requestedModel: String, provider: String?, servedModel: String?, serviceTier: ServiceTier?, day: Date, failed: Bool,
        fellBack: Bool, requests: Int64, usage: Usage, cost: Int64, unknownCost: Int64, baseline: String? = nil
    ) {
        self.baseline = baseline
        self.route = route
        self.requestedModel = requestedModel
        self.provider = provider
        self.servedModel = servedModel
        self.serviceTier = serviceTier
        self.day = day
        self.failed = failed
        self.fellBack = fellBack
        self.requests = requests
        self.usage = usage
        self.cost = cost
        self.unknownCost = unknownCost
    }
}
