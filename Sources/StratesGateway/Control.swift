import Foundation
import StratesCore
import StratesWire

/// What one request asks of the controls, estimated once when its route is decided: the
/// same figures reach every access policy, rate limit, reserve, grant and budget.
public struct Demand: Sendable {
    public let api: APIKind
    /// The input estimate plus the request's own output limit (none counts 0): what
    /// tokens-per-minute limits and token reserves hold for it.
    public let tokens: Int64
    /// The input estimate plus the output limit (or the configured default) at the routed
    /// model's price: what budgets, grants and spend reserves hold for it.
    public let spend: BudgetDemand
    /// The request's own output limit, when it set one.
    public let maxTokens: Int64?

    /// The demand of `record` (routed: its served model prices it) with `summary`'s limits.
    public init(_ record: RequestRecord, summary: RequestSummary, api: APIKind, pricing: Pricing, defaultOutputTokens: Int64) {
        self.api = api
        self.maxTokens = summary.maxTokens
        self.tokens = record.inputEstimate.saturatingAdd(summary.maxTokens ?? 0)
        self.spend = pricing.demand(for: record, maxTokens: summary.maxTokens, api: api, defaultOutputTokens: defaultOutputTokens)
    }
}

/// What the controls granted a request, gathered as it passes them.
public struct Admission: Sendable, Equatable {
    /// The allowances left under the rate limits covering it (for the response's headers).
    public var rates = RateAdmission.unlimited
    /// The grant its personal use is drawn from.
    public var grantID: String?
    /// What a budget lowered its maximum output tokens to, and which budget.
    public var budget = BudgetAdmission.unrestricted

    public init() {}
}

/// One control a request must pass before it is sent upstream: runaway-run limits, model
/// access policies, rate limits, production reserves, grants and budgets all are one. A
/// control admits the request on its demand (noting what it grants) or throws its refusal
/// in the caller's terms; once the request is settled, or refused by a later control, it
/// gives back what it holds. `release` must be safe to call for a request it never held.
protocol Control: Sendable {
    func admit(_ record: RequestRecord, demand: Demand, into admission: inout Admission) async throws(GatewayError)
    func release(_ record: RequestRecord, executor: (any TaskExecutor)?)
}

/// The controls a gateway enforces; each is optional (nil: nothing of that kind is configured).
public struct GatewayControls: Sendable {
    public var runs: RunWatch?
    public var policies: AccessGuard?
    public var rateLimits: RateLimiter?
    public var reserves: ReserveGuard?
    public var grants: GrantGuard?
    public var budgets: BudgetGuard?

    public init(
        runs: RunWatch? = nil, policies: AccessGuard? = nil, rateLimits: RateLimiter? = nil, reserves: ReserveGuard? = nil,
        grants: GrantGuard? = nil, budgets: BudgetGuard? = nil
    ) {
        (self.runs, self.policies, self.rateLimits, self.reserves, self.grants, self.budgets) = (runs, policies, rateLimits, reserves, grants, budgets)
    }

    /// In the order a request passes them: a stopped run and a forbidden model are refused
    /// before anything is held; rate limits before the reserves, grants and budgets that
    /// hold money.
    var inOrder: [any Control] {
        let all: [(any Control)?] = [runs, policies, rateLimits, reserves, grants, budgets]
        return all.compactMap { $0 }
    }
}

extension RunWatch: Control {
    func admit(_ record: RequestRecord, demand: Demand, into admission: inout Admission) async throws(GatewayError) {
        try admit(record)
    }

    func release(_ record: RequestRecord, executor: (any TaskExecutor)?) {}
}

extension AccessGuard: Control {
    func admit(_ record: RequestRecord, demand: Demand, into admission: inout Admission) async throws(GatewayError) {
        try check(record)
    }

    func release(_ record: RequestRecord, executor: (any TaskExecutor)?) {}
}

extension RateLimiter: Control {
    func admit(_ record: RequestRecord, demand: Demand, into admission: inout Admission) async throws(GatewayError) {
        admission.rates = try admit(record, demand: demand)
    }

    func release(_ record: RequestRecord, executor: (any TaskExecutor)?) { release(record) }
}

extension ReserveGuard: Control {
    func admit(_ record: RequestRecord, demand: Demand, into admission: inout Admission) async throws(GatewayError) {
        try await admit(record, demand: demand)
    }
}

extension GrantGuard: Control {
    func admit(_ record: RequestRecord, demand: Demand, into admission: inout Admission) async throws(GatewayError) {
        admission.grantID = try await admit(record, demand: demand)
    }

    func release(_ record: RequestRecord, executor: (any TaskExecutor)?) {
        if record.grantID != nil { settle(record) }
    }
}

extension BudgetGuard: Control {
    func admit(_ record: RequestRecord, demand: Demand, into admission: inout Admission) async throws(GatewayError) {
        admission.budget = try await admit(record, budgets: covering(record.attribution), demand: demand)
    }

    func release(_ record: RequestRecord, executor: (any TaskExecutor)?) {
        guard !covering(record.attribution).isEmpty else { return }
        Task(executorPreference: executor) { await self.settle(record) }
    }
}
