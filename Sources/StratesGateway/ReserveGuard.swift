import Foundation
import StratesCore
import StratesLedger
import StratesWire
import Synchronization

/// Production reserves on the request path. Every request of the organization counts
/// against its reserves; a `personal` or `sandbox` request is admitted only while usage,
/// with the request, stays under its environment's ceiling, and production is always
/// admitted (and counted, so that it pushes the others out first).
///
/// A tokens-per-minute reserve is a token bucket (the rate-limit book, with the share above
/// the ceiling kept free); a spend reserve is a budget counter over the organization's
/// spend, hard at the ceiling for personal and sandbox, soft for production. Both count in
/// this process, like rate limits and budgets.
public final class ReserveGuard: Sendable {
    public let rules = RuleIndex<ProductionReserve>()
    let store: any RuleStore
    let book = Mutex(RateLimitBook())
    let spend: InProcessBudgetCounters
    /// Whether any reserve of each kind exists; while none does, ending a request takes no lock.
    let hasTokenReserves = Atomic<Bool>(false)
    let hasSpendReserves = Atomic<Bool>(false)
    let clock: @Sendable () -> Double
    let now: @Sendable () -> Date

    public init(
        store: any RuleStore & BudgetStore,
        beforeCounting: @escaping @Sendable () async -> Void = {}, clock: (@Sendable () -> Double)? = nil,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.store = store
        self.spend = InProcessBudgetCounters(store: store, beforeCounting: beforeCounting)
        let start = ContinuousClock.now
        self.clock = clock ?? { Double((ContinuousClock.now - start).milliseconds) / 1000 }
        self.now = now
    }

    public func reload() async throws {
        let reserves = try await store.rules(ProductionReserve.self)
        rules.replace(with: reserves)
        let ids = Set(reserves.map(\.id))
        book.withLock { $0.keep(only: ids) }
        hasTokenReserves.store(reserves.contains { Self.tokenLimit($0) != nil }, ordering: .relaxed)
        hasSpendReserves.store(reserves.contains { Self.tokenLimit($0) == nil }, ordering: .relaxed)
    }

    /// Takes the request's share of every reserve covering it, or throws a 429 in the
    /// caller's format naming the reserve. Returns whether anything is held.
    func admit(_ record: RequestRecord, demand: Demand) async throws(GatewayError) {
        let reserves = rules.covering(record.attribution).filter { $0.counts(provider: record.provider) }
        guard !reserves.isEmpty else { return }
        let environment = record.attribution.environment
        let tokens = demand.tokens
        let time = clock()
        var spendReserves: [ProductionReserve] = []
        for reserve in reserves {
            guard let limit = Self.tokenLimit(reserve) else {
                spendReserves.append(reserve)
                continue
            }
            let verdict = book.withLock { Self.admit(&$0, record.id, tokens: tokens, limit: limit, reserve: reserve, environment: environment, at: time) }
            if case .refuse(let refusal) = verdict {
                release(record)
                throw Self.error(
                    reserve, capacity: limit.tokensPerMinute ?? 0, environment: environment, needed: tokens, retryAfter: refusal.retryAfter,
                    bucket: refusal.tokens)
            }
        }
        guard !spendReserves.isEmpty else { return }
        let budgets = spendReserves.compactMap { Self.budget($0, for: environment) }
        let verdict: BudgetVerdict
        do {
            verdict = try await spend.reserve(requestID: record.id, demand: demand.spend, budgets: budgets, at: record.startedAt)
        } catch {
            release(record)
            throw GatewayError(
                status: 503, message: "Strates could not check the production reserve for this request (ledger unavailable). Try again shortly.",
                code: "reserve_unavailable")
        }
        if case .refuse(let refusal) = verdict {
            release(record)
            let reserve = spendReserves.first { $0.id == refusal.standing.budget.id } ?? spendReserves[0]
            throw Self.error(reserve, environment: environment, refusal: refusal)
        }
    }

    /// Ends a request's hold: its token estimate corrected to its usage, its spend reservation
    /// settled to its cost.
    func release(_ record: RequestRecord, executor: (any TaskExecutor)? = nil) {
        let rejected = record.status == .rejected
        if hasTokenReserves.load(ordering: .relaxed) {
            book.withLock { $0.release(requestID: record.id, actualTokens: rejected ? 0 : record.usage.total, refundRequest: rejected) }
        }
        guard hasSpendReserves.load(ordering: .relaxed) else { return }
        let usage = rejected ? Usage.zero : record.usage
        let cost = rejected ? nil : record.cost
        Task(executorPreference: executor) { [spend, now] in _ = await spend.settle(requestID: record.id, usage: usage, cost: cost, at: now()) }
    }

    /// Where each reserve stands now: how much of its capacity is used and who may still use it.
    public func standings(of reserves: [ProductionReserve]? = nil) async throws -> [ReserveStanding] {
        var standings: [ReserveStanding] = []
        let time = clock()
        for reserve in reserves ?? rules.all {
            if let limit = Self.tokenLimit(reserve) {
                let bucket = book.withLock { $0.tokenBucket(of: limit, at: time) }
                let used = bucket.map { Int64(saturating: ($0.capacity - $0.level).rounded()) } ?? 0
                standings.append(ReserveStanding(reserve: reserve, used: max(0, used), reserved: 0, resets: nil))
            } else if let budget = Self.budget(reserve, for: .production), let standing = try await spend.standings(of: [budget], at: now()).first {
                standings.append(ReserveStanding(reserve: reserve, used: standing.spent, reserved: standing.reserved, resets: standing.window.end))
            }
        }
        return standings
    }

    /// The token-bucket rule: `environment`'s traffic must leave the share above its ceiling
    /// free; production is forced through, and counted.
    static func admit(
        _ book: inout RateLimitBook, _ requestID: String, tokens: Int64, limit: RateLimit, reserve: ProductionReserve, environment: Environment, at time: Double
    ) -> RateVerdict {
        let ceiling = reserve.ceiling(for: environment)
        return book.admit(requestID: requestID, tokens: tokens, limits: [limit], at: time, keepFreePercent: 100 - (ceiling ?? 100), force: ceiling == nil)
    }

    /// A tokens-per-minute reserve as a rate limit of the whole capacity.
    static func tokenLimit(_ reserve: ProductionReserve) -> RateLimit? {
        guard case .tokensPerMinute(let tokens, _) = reserve.capacity else { return nil }
        return RateLimit(
            id: reserve.id, name: reserve.name, scope: reserve.scope, tokensPerMinute: tokens, createdAt: reserve.createdAt, updatedAt: reserve.updatedAt)
    }

    /// A spend reserve as the budget `environment`'s traffic must fit: the same counter for
    /// every environment, hard at the environment's ceiling, soft (never refusing) for production.
    static func budget(_ reserve: ProductionReserve, for environment: Environment) -> Budget? {
        guard case .spend(let capacity, let period, let zone) = reserve.capacity else { return nil }
        let ceiling = reserve.ceiling(for: environment)
        return Budget(
            id: reserve.id, name: reserve.name, scope: reserve.scope, period: period, timeZone: zone, unit: .usd,
            limit: ceiling.map { capacity / 100 * Int64($0) + capacity % 100 * Int64($0) / 100 } ?? capacity,
            enforcement: ceiling == nil ? .soft : .hard, alertThresholds: [], createdAt: reserve.createdAt, updatedAt: reserve.updatedAt
        )
    }

    static func error(_ reserve: ProductionReserve, capacity: Int64, environment: Environment, needed: Int64, retryAfter: Double?, bucket: RateAllowance?)
        -> GatewayError
    {
        let ceiling = reserve.ceiling(for: environment) ?? 100
        let used = bucket.map { capacity - $0.remaining } ?? 0
        let wait =
            retryAfter.map { " Retry in \(RateHeaders.seconds($0)) s." }
            ?? " This request alone is larger than that share: send less input or lower max_tokens."
        let message =
            "Production reserve '\(reserve.name)' keeps \(reserve.productionShare)% of \(reserve.capacityText) for production; \(environment.rawValue) traffic may use up to \(ceiling)% (\(capacity * Int64(ceiling) / 100) tokens), \(max(0, used)) are in use in the last minute, and this request may use \(needed) (input estimate plus max tokens).\(wait)"
        return refusal(reserve, message: message, retryAfter: retryAfter)
    }

    static func error(_ reserve: ProductionReserve, environment: Environment, refusal: BudgetRefusal) -> GatewayError {
        let standing = refusal.standing
        let ceiling = reserve.ceiling(for: environment) ?? 100
        let resets = standing.window.end.map { " It resets at \(BudgetText.timestamp($0))." } ?? ""
        let needText: String
        switch refusal.reason {
        case .exhausted(let needed): needText = "this request may cost up to \(NanoUSD(needed))"
        case .unpriced: needText = "this request's model has no known price, so it cannot be counted against the reserve"
        }
        let reserved = standing.reserved > 0 ? ", \(NanoUSD(standing.reserved)) held by requests in flight" : ""
        let message =
            "Production reserve '\(reserve.name)' keeps \(reserve.productionShare)% of \(reserve.capacityText) for production; \(environment.rawValue) traffic may use up to \(ceiling)% (\(NanoUSD(standing.budget.limit))). The organization has spent \(NanoUSD(standing.spent))\(reserved), and \(needText).\(resets)"
        return Self.refusal(reserve, message: message, retryAfter: nil)
    }

    static func refusal(_ reserve: ProductionReserve, message: String, retryAfter: Double?) -> GatewayError {
        var error = GatewayError(status: 429, message: message, code: "production_reserve")
        error.headers = [("x-strates-reserve", reserve.name)]
        if let retryAfter {
            error.headers.append(("retry-after", String(max(1, Int(retryAfter.rounded(.up))))))
        } else {
            error.headers.append(("x-should-retry", "false"))
        }
        return error
    }
}

/// How much of a reserve's capacity is in use, and which environments it still admits.
public struct ReserveStanding: Sendable {
    public var reserve: ProductionReserve
    /// Tokens in the last minute, or nano-USD spent in the current period.
    public var used: Int64
    /// Nano-USD held by requests in flight (spend reserves).
    public var reserved: Int64
    public var resets: Date?

    public var capacity: Int64 {
        switch reserve.capacity {
        case .spend(let nano, _, _): nano
        case .tokensPerMinute(let tokens, _): tokens
        }
    }

    public var usedPercent: Double { capacity > 0 ? Double(used.saturatingAdd(reserved)) * 100 / Double(capacity) : 0 }

    /// Environments below their ceiling now.
    public var open: [Environment] {
        Environment.allCases.filter { environment in
            guard let ceiling = reserve.ceiling(for: environment) else { return true }
            return usedPercent < Double(ceiling)
        }
    }

}
