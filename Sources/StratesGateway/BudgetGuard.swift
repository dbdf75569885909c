import Foundation
import Logging
import StratesCore
import StratesLedger
import StratesWire
import Synchronization

/// Where budget alerts go (the log, webhooks); delivery must not hold up requests.
public protocol BudgetAlertSink: Sendable {
    func deliver(_ alert: BudgetAlert)
}

/// What the budgets decided for an admitted request.
public struct BudgetAdmission: Sendable, Equatable {
    /// Lower the request's maximum output tokens to this.
    public var outputCap: Int64?
    /// The budget that set the cap, for the ledger and the response header.
    public var cappedBy: String?

    public static let unrestricted = BudgetAdmission()
}

/// Budgets on the request path: finds the budgets covering a request, reserves its
/// estimate before the upstream call (refusing or capping it), settles to the actual
/// usage afterwards, and raises alerts as thresholds are crossed.
public final class BudgetGuard: Sendable {
    let store: any BudgetStore
    let counters: any BudgetCounters
    let sink: any BudgetAlertSink
    let now: @Sendable () -> Date
    let index = RuleIndex<Budget>()
    /// Whether any budget names a downgrade model: while none does, a request's route is
    /// decided without looking up its budgets a second time.
    let downgrades = Atomic<Bool>(false)
    /// Alerts this process already passed to the store's once-only claim.
    let claimed = Mutex(Set<String>())

    public init(
        store: any BudgetStore, counters: any BudgetCounters, sink: any BudgetAlertSink, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.store = store
        self.counters = counters
        self.sink = sink
        self.now = now
    }

    /// Reads the budget definitions again; a running gateway calls this every few seconds
    /// and after every change made through the admin API.
    public func reload() async throws {
        let budgets = try await store.budgets()
        index.replace(with: budgets)
        downgrades.store(budgets.contains { $0.downgradeTo != nil }, ordering: .relaxed)
    }

    /// Whether any budget in force names a downgrade model.
    var downgradesAnyRequest: Bool { downgrades.load(ordering: .relaxed) }

    public var budgets: [Budget] { index.all }

    /// The budgets covering a request with this attribution.
    func covering(_ attribution: Attribution) -> [Budget] { index.covering(attribution) }

    /// The cheaper model one of `budgets` moves this request to, when that budget —
    /// counting what is spent, what requests in flight reserved, and this request's own
    /// estimate at the model it asked for — is at or past its `downgradeAtPercent`.
    func downgrade(for record: RequestRecord, budgets: [Budget], demand estimate: Demand) async -> (budget: Budget, model: String)? {
        guard estimate.api != .countTokens else { return nil }
        let candidates = budgets.filter { budget in
            guard let target = budget.downgradeTo else { return false }
            return target != record.requestedModel && target != record.servedModel
        }
        guard !candidates.isEmpty, let standings = try? await counters.standings(of: candidates, at: record.startedAt) else { return nil }
        let demand = estimate.spend
        for (budget, standing) in zip(candidates, standings) {
            let request = demand.amount(budget.unit, outputTokens: demand.outputTokens) ?? 0
            let filled = [standing.spent, standing.reserved, request].saturatingSum()
            if budget.reaches(budget.downgradeAtPercent, with: filled), let model = budget.downgradeTo {
                return (budget, model)
            }
        }
        return nil
    }

    /// Reserves the request's estimate against `budgets` (those covering it). Throws the
    /// refusal in the caller's terms when a hard budget cannot cover it.
    func admit(_ record: RequestRecord, budgets: [Budget], demand estimate: Demand) async throws(GatewayError) -> BudgetAdmission {
        guard estimate.api != .countTokens, !budgets.isEmpty else { return .unrestricted }
        let demand = estimate.spend
        let verdict: BudgetVerdict
        do {
            verdict = try await counters.reserve(requestID: record.id, demand: demand, budgets: budgets, at: record.startedAt)
        } catch {
            throw GatewayError(
                status: 503, message: "Strates could not check the budgets for this request (ledger unavailable). Try again shortly.",
                code: "budget_unavailable")
        }
        switch verdict {
        case .refuse(let refusal):
            throw Self.error(for: refusal, model: record.servedModel ?? record.requestedModel)
        case .admit(let cap, _):
            guard let cap, cap < estimate.maxTokens ?? Int64.max else { return .unrestricted }
            let capper = budgets.first { $0.enforcement == .hard && $0.whenExhausted == .cap }
            return BudgetAdmission(outputCap: cap, cappedBy: capper?.name)
        }
    }

    /// Settles a finished request's reservation to what it used, and raises the alerts
    /// its spend crossed.
    func settle(_ record: RequestRecord) async {
        let used = record.status == .rejected ? Usage.zero : record.usage
        let standings = await counters.settle(requestID: record.id, usage: used, cost: record.status == .rejected ? nil : record.cost, at: now())
        for standing in standings {
            for threshold in BudgetAlert.reached(by: standing) {
                let period = Self.alertPeriod(standing.window)
                let key = "\(standing.budget.id)|\(standing.budget.countingKey)|\(Int64(period.timeIntervalSince1970))|\(threshold)"
                guard claimed.withLock({ $0.insert(key).inserted }) else { continue }
                let alert = BudgetAlert(budget: standing.budget, window: standing.window, threshold: threshold, spent: standing.spent)
                let first = (try? await store.claimAlert(budgetID: standing.budget.id, windowStart: period, threshold: threshold, at: now())) ?? true
                if first { sink.deliver(alert) }
            }
        }
    }

    /// What "once per period" means for an alert: the window's start; for a rolling window,
    /// which moves every hour, the UTC day it starts on — at most one alert a day per threshold.
    static func alertPeriod(_ window: BudgetWindow) -> Date {
        guard window.rolling else { return window.start }
        return Date(timeIntervalSince1970: (window.start.timeIntervalSince1970 / 86_400).rounded(.down) * 86_400)
    }

    /// Where every budget stands now.
    public func standings(of budgets: [Budget]? = nil) async throws -> [BudgetStanding] {
        try await counters.standings(of: budgets ?? self.budgets, at: now())
    }

    static func error(for refusal: BudgetRefusal, model: String) -> GatewayError {
        let standing = refusal.standing
        let budget = standing.budget
        let resets = standing.window.end.map { " It resets at \(BudgetText.timestamp($0))." } ?? " It does not reset (period: total)."
        let message: String
        switch refusal.reason {
        case .exhausted(let needed):
            message =
                "Budget '\(budget.name)' (\(budget.scope.text), \(budget.period.text)) cannot cover this request: spent \(budget.format(standing.spent)) of \(budget.format(budget.limit))\(standing.reserved > 0 ? ", \(budget.format(standing.reserved)) reserved by requests in flight" : ""), and this request may use up to \(budget.format(needed)).\(resets) Lower max_tokens, or ask an admin to raise the budget."
        case .unpriced:
            message =
                "Budget '\(budget.name)' (\(budget.scope.text)) is a hard USD budget, and the model '\(model)' has no known price, so Strates cannot tell what this request would cost. Add a price for it ('strates prices'), or use a priced model."
        }
        var error = GatewayError(status: 429, message: message, code: "budget_exceeded")
        // Retrying does not help until the budget resets or is raised: tell SDKs not to.
        error.headers = [("x-should-retry", "false"), ("x-strates-budget", budget.name)]
        if let end = standing.window.end {
            let seconds = max(1, Int(end.timeIntervalSinceNow.rounded(.up)))
            error.headers.append(("retry-after", String(seconds)))
        }
        return error
    }
}
