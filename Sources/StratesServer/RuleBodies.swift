import Foundation
import StratesCore
import StratesGateway

// The rules an admin defines (rate limits, policies, reserves, routes, grants, budgets) as
// the admin API and `--format json` show them. The members are documented in
// `AdminAPIDocument`; prices per million tokens and dollar amounts are decimal text.

/// A rule the admin API manages through `RuleController`.
public typealias ManagedRule = ControlRule & APIRepresentable

extension ControlRule {
    /// The members every rule starts with.
    func encodeRuleFields(_ fields: inout APIFields) throws {
        try fields.put("id", id)
        try fields.put("name", name)
        try fields.put("scope", scope.text)
        try fields.put("created_at", time: createdAt)
        try fields.put("updated_at", time: updatedAt)
    }
}

extension RateLimit: APIRepresentable {
    public func encodeFields(_ fields: inout APIFields) throws {
        try encodeRuleFields(&fields)
        try fields.put("requests_per_minute", requestsPerMinute)
        try fields.put("tokens_per_minute", tokensPerMinute)
        try fields.put("max_concurrent_requests", maxConcurrentRequests)
    }
}

extension AccessPolicy: APIRepresentable {
    public func encodeFields(_ fields: inout APIFields) throws {
        try encodeRuleFields(&fields)
        try fields.put("allow_models", allowModels)
        try fields.put("deny_models", denyModels)
        try fields.put("max_input_usd_per_mtok", dollars: maxInputPricePerMillion.map(NanoUSD.init))
        try fields.put("max_output_usd_per_mtok", dollars: maxOutputPricePerMillion.map(NanoUSD.init))
        try fields.put("max_context_tokens", maxContextTokens)
    }
}

extension ProductionReserve: APIRepresentable {
    public func encodeFields(_ fields: inout APIFields) throws {
        try encodeRuleFields(&fields)
        switch capacity {
        case .spend(let nano, let period, let zone):
            try fields.put("capacity_usd", dollars: NanoUSD(nano))
            try fields.put("period", period.text)
            try fields.put("time_zone", zone)
            try fields.put("capacity_tpm", Int64?.none)
            try fields.put("provider", String?.none)
        case .tokensPerMinute(let tokens, let provider):
            try fields.put("capacity_usd", String?.none)
            try fields.put("period", String?.none)
            try fields.put("time_zone", String?.none)
            try fields.put("capacity_tpm", tokens)
            try fields.put("provider", provider)
        }
        try fields.put("production_share", productionShare)
        try fields.put("sandbox_until", sandboxUntil)
        try fields.put("personal_until", personalUntil)
    }
}

extension Deployment: APIRepresentable {
    public func encodeFields(_ fields: inout APIFields) throws {
        try fields.put("provider", provider)
        try fields.put("model", model)
        try fields.put("weight", weight)
        try fields.put("timeout_seconds", timeoutSeconds)
        try fields.put("first_token_timeout_seconds", firstTokenTimeoutSeconds)
        try fields.put("context_tokens", contextTokens)
    }
}

extension AutoRoutingPolicy: APIRepresentable {
    public func encodeFields(_ fields: inout APIFields) throws {
        try fields.put("tiers", tiers)
        try fields.put("target_success", targetSuccess)
        try fields.put("min_samples", minimumSamples)
        try fields.put("exploration", exploration)
        try fields.put("baseline", baseline)
    }
}

extension ModelRoute {
    /// The price ceilings (null when not set).
    func encodeCeilings(_ fields: inout APIFields) throws {
        try fields.put("max_input_usd_per_mtok", dollars: maxInputPrice.map { NanoUSD($0.nanoPerMillion) })
        try fields.put("max_output_usd_per_mtok", dollars: maxOutputPrice.map { NanoUSD($0.nanoPerMillion) })
    }
}

extension RouteDefinition: APIRepresentable {
    public func encodeFields(_ fields: inout APIFields) throws {
        try encodeRuleFields(&fields)
        try fields.put("strategy", route.strategy.rawValue)
        try fields.put("retries", route.retries)
        try route.encodeCeilings(&fields)
        try fields.put("deployments", objects: route.deployments)
        try fields.put("auto", object: route.auto)
    }
}

/// An amount in a budget unit: dollars as decimal text, or a count of tokens.
struct UnitAmount: Encodable {
    var unit: BudgetUnit
    var amount: Int64

    func encode(to encoder: Encoder) throws {
        var value = encoder.singleValueContainer()
        if unit == .usd { try value.encode(NanoUSD(amount).dollars) } else { try value.encode(amount) }
    }
}

extension Grant: APIRepresentable {
    func amount(_ value: Int64) -> UnitAmount { UnitAmount(unit: unit, amount: value) }

    public func encodeFields(_ fields: inout APIFields) throws {
        try encodeRuleFields(&fields)
        try fields.put("member", member)
        try fields.put("unit", unit.rawValue)
        if unit == .usd { try fields.put("amount_usd", dollars: NanoUSD(amount)) } else { try fields.put("amount_tokens", amount) }
        try fields.put("period", period.rawValue)
        try fields.put("rollover", rollover.rawValue)
        try fields.put("rollover_cap", rolloverCap.map(amount))
        try fields.put("purpose", purpose)
        try fields.put("starts_at", time: startsAt)
        try fields.put("expires_at", time: expiresAt)
        try fields.put("time_zone", timeZone)
        try fields.put("adjustments", objects: adjustments.map { GrantAdjustmentBody(adjustment: $0, grant: self) })
        try fields.put("transferred_from", transferredFrom)
    }
}

struct GrantAdjustmentBody: APIRepresentable {
    var adjustment: GrantAdjustment
    var grant: Grant

    func encodeFields(_ fields: inout APIFields) throws {
        try fields.put("at", time: adjustment.at)
        try fields.put("amount", grant.amount(adjustment.amount))
        try fields.put("note", adjustment.note)
    }
}

/// A budget and, when known, where it stands in its current period.
public struct BudgetBody: APIRepresentable {
    public var budget: Budget
    public var standing: BudgetStanding?

    public init(_ budget: Budget, standing: BudgetStanding?) {
        self.budget = budget
        self.standing = standing
    }

    public func encodeFields(_ fields: inout APIFields) throws {
        try fields.put("id", budget.id)
        try fields.put("name", budget.name)
        try fields.put("scope", budget.scope.text)
        try fields.put("period", budget.period.text)
        try fields.put("time_zone", budget.timeZone)
        try fields.put("unit", budget.unit.rawValue)
        try fields.put("limit", budget.limit)
        try fields.put("limit_display", budget.format(budget.limit))
        try fields.put("enforcement", budget.enforcement.rawValue)
        try fields.put("when_exhausted", budget.whenExhausted.rawValue)
        try fields.put("alert_thresholds", budget.alertThresholds)
        try fields.put("downgrade_to", budget.downgradeTo)
        try fields.put("downgrade_at", budget.downgradeAtPercent)
        try fields.put("created_at", time: budget.createdAt)
        try fields.put("updated_at", time: budget.updatedAt)
        if let standing { try fields.put("status", object: BudgetStatusBody(budget: budget, standing: standing)) }
    }
}

struct BudgetStatusBody: APIRepresentable {
    var budget: Budget
    var standing: BudgetStanding

    func encodeFields(_ fields: inout APIFields) throws {
        let used = budget.limit > 0 ? Double(standing.spent) * 100 / Double(budget.limit) : 0
        try fields.put("window_start", time: standing.window.start)
        try fields.put("resets_at", time: standing.window.end)
        try fields.put("spent", standing.spent)
        try fields.put("spent_display", budget.format(standing.spent))
        try fields.put("reserved", standing.reserved)
        try fields.put("remaining", max(0, standing.remaining))
        try fields.put("used_percent", (used * 10).rounded() / 10)
    }
}
