import Foundation

/// An organization's capacity — spend per period, or tokens per minute against a
/// provider's rate limit — with a share kept for production. As usage nears the cap,
/// `personal` traffic is throttled first (past `personalUntil` % of capacity), then
/// `sandbox` (past `sandboxUntil` %); production is never refused by a reserve, so
/// allowances can never starve the workloads that serve customers.
public struct ProductionReserve: ControlRule {
    public static let kind = "reserve"
    public static let noun = "production reserve"
    public static let collection = "reserves"
    public static let fields: Set<String> = [
        "name", "scope", "capacity_usd", "period", "time_zone", "capacity_tpm", "provider", "production_share", "sandbox_until",
        "personal_until",
    ]

    public enum Capacity: Sendable, Codable, Equatable {
        /// Nano-USD per period, counted over all of the organization's spend.
        case spend(nanoUSD: Int64, period: BudgetPeriod, timeZone: String)
        /// Tokens per minute; with a provider, only traffic served by it counts.
        case tokensPerMinute(Int64, provider: String?)
    }

    public var id: String
    public var name: String
    /// `organization:NAME`.
    public var scope: BudgetScope
    public var capacity: Capacity
    /// Percent of capacity only production may use.
    public var productionShare: Int
    /// Percent of capacity past which sandbox traffic is throttled.
    public var sandboxUntil: Int
    /// Percent of capacity past which personal traffic is throttled.
    public var personalUntil: Int
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: String, name: String, organization: String, capacity: Capacity, productionShare: Int = 30, sandboxUntil: Int? = nil,
        personalUntil: Int? = nil, createdAt: Date = Date(), updatedAt: Date = Date()
    ) {
        self.id = id
        self.name = name
        self.scope = BudgetScope(kind: .organization, value: organization)
        self.capacity = capacity
        self.productionShare = productionShare
        let sandbox = sandboxUntil ?? 100 - productionShare
        self.sandboxUntil = sandbox
        self.personalUntil = personalUntil ?? max(0, sandbox - 10)
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// Percent of capacity traffic of `environment` may fill; nil: never throttled.
    public func ceiling(for environment: Environment) -> Int? {
        switch environment {
        case .production: nil
        case .sandbox: sandboxUntil
        case .personal: personalUntil
        }
    }

    /// Whether the reserve counts a request served by `provider`.
    public func counts(provider: String?) -> Bool {
        guard case .tokensPerMinute(_, let only?) = capacity else { return true }
        return provider == only
    }

    public static func make(from fields: inout RuleFields, current: ProductionReserve?, id: String, now: Date) throws(RuleProblems) -> ProductionReserve {
        let scope = fields.scope(current: current?.scope)
        if let scope, scope.kind != .organization {
            fields.problem("a production reserve's scope is the organization, e.g. organization:acme (not \(scope.text))")
        }
        let name = fields.text("name").applied(to: current?.name) ?? scope.map { "\($0.value)-reserve" } ?? ""
        if let problem = RuleName.problem(name) { fields.problem(problem) }

        var capacity = current?.capacity
        let usd = fields.dollars("capacity_usd")
        let tpm = fields.wholeNumber("capacity_tpm")
        let periodText = fields.text("period")
        let zoneText = fields.text("time_zone")
        let providerText = fields.text("provider")
        switch (usd, tpm) {
        case (.set, .set):
            fields.problem("set capacity_usd (spend per period) or capacity_tpm (tokens per minute), not both")
        case (.set(let nano), _):
            guard nano > 0 else {
                fields.problem("capacity_usd must be greater than zero")
                break
            }
            var period = BudgetPeriod.month
            var zone = "UTC"
            if case .spend(_, let oldPeriod, let oldZone) = current?.capacity { (period, zone) = (oldPeriod, oldZone) }
            capacity = .spend(nanoUSD: nano, period: period, timeZone: zone)
        case (_, .set(let tokens)):
            var provider: String?
            if case .tokensPerMinute(_, let old) = current?.capacity { provider = old }
            capacity = .tokensPerMinute(tokens, provider: provider)
        default:
            if capacity == nil { fields.problem("capacity_usd (with period) or capacity_tpm (with provider) is required") }
        }
        switch capacity {
        case .spend(let nano, var period, var zone)?:
            if case .set(let text) = periodText {
                if let parsed = BudgetPeriod(text: text), parsed == .day || parsed == .week || parsed == .month {
                    period = parsed
                } else {
                    fields.problem("period '\(text)' must be day, week or month")
                }
            }
            if case .set(let text) = zoneText {
                if TimeZone(identifier: text) != nil {
                    zone = text
                } else {
                    fields.problem("time_zone '\(text)' is not a known IANA zone (e.g. UTC, Europe/Paris)")
                }
            }
            if case .set = providerText { fields.problem("provider applies to capacity_tpm only (a spend capacity counts all of the organization's spend)") }
            capacity = .spend(nanoUSD: nano, period: period, timeZone: zone)
        case .tokensPerMinute(let tokens, let provider)?:
            if case .set = periodText { fields.problem("period applies to capacity_usd only (tokens per minute refill continuously)") }
            capacity = .tokensPerMinute(tokens, provider: providerText.applied(to: provider).flatMap { $0.isEmpty ? nil : $0 })
        case nil:
            break
        }

        func percent(_ key: String) -> FieldChange<Int64> { fields.wholeNumber(key, minimum: 0) }
        let share = Int(percent("production_share").applied(to: current.map { Int64($0.productionShare) }) ?? 30)
        // A new share moves the defaults with it unless they are set too.
        let shareChanged = current.map { $0.productionShare != share } ?? true
        let sandboxDefault = shareChanged ? nil : current.map { Int64($0.sandboxUntil) }
        let sandbox = Int(percent("sandbox_until").applied(to: sandboxDefault) ?? Int64(100 - share))
        let personalDefault = shareChanged ? nil : current.map { Int64($0.personalUntil) }
        let personal = Int(percent("personal_until").applied(to: personalDefault) ?? Int64(max(0, sandbox - 10)))
        if share < 1 || share > 99 { fields.problem("production_share must be 1 to 99 (percent of capacity kept for production)") }
        if sandbox > 100 - share { fields.problem("sandbox_until \(sandbox)% must leave the production share: at most \(100 - share)%") }
        if personal > sandbox { fields.problem("personal_until \(personal)% must be at most sandbox_until \(sandbox)%: personal traffic is throttled first") }
        try fields.check()
        guard let scope, let capacity else { throw RuleProblems(["scope and capacity are required"]) }
        return ProductionReserve(
            id: id, name: name, organization: scope.value, capacity: capacity, productionShare: share, sandboxUntil: sandbox,
            personalUntil: personal, createdAt: current?.createdAt ?? now, updatedAt: now
        )
    }

    /// A part of the capacity, as people read it.
    public func format(_ amount: Int64) -> String {
        switch capacity {
        case .spend: NanoUSD(amount).description
        case .tokensPerMinute: "\(amount) tokens"
        }
    }

    public var capacityText: String {
        switch capacity {
        case .spend(let nano, let period, _): "\(NanoUSD(nano)) per \(period.text)"
        case .tokensPerMinute(let tokens, let provider): "\(tokens) tokens per minute\(provider.map { " on \($0)" } ?? "")"
        }
    }

    public var summary: String {
        "\(scope.text): \(capacityText); production keeps \(productionShare)%, sandbox throttled past \(sandboxUntil)%, personal past \(personalUntil)%"
    }
}
