import Foundation
import StratesCore
import Synchronization

/// The live side of budgets: each window's spend and in-flight reservations, and the
/// atomic check-and-reserve that makes a hard budget hold under any concurrency.
///
/// It is a store protocol so that replicas sharing PostgreSQL can keep this state in rows
/// (check and reserve in one transaction with the budget's row locked). One process over
/// SQLite — which the journal lock already makes the database's only writer — keeps it in
/// memory (`InProcessBudgetCounters`), counted from the ledger when a window is first used.
public protocol BudgetCounters: Sendable {
    /// Decides the request against every budget covering it and, when admitted, holds
    /// its charges under `requestID` until `settle`.
    func reserve(requestID: String, demand: BudgetDemand, budgets: [Budget], at date: Date) async throws -> BudgetVerdict
    /// Replaces the request's reservation by what it really used (nothing, when it
    /// failed before the upstream charged). Returns the standings after, for alerts.
    func settle(requestID: String, usage: Usage, cost: NanoUSD?, at date: Date) async -> [BudgetStanding]
    /// Where the budgets stand now.
    func standings(of budgets: [Budget], at date: Date) async throws -> [BudgetStanding]
}

public final class InProcessBudgetCounters: BudgetCounters {
    struct CounterKey: Hashable {
        var budgetID: String
        var countingKey: String
        /// Milliseconds; rolling windows keep one counter with hourly buckets instead.
        var windowStart: Int64?
    }

    struct Counter {
        var spent: Int64 = 0
        /// Rolling windows: spend per hour since 1970.
        var hourly: [Int64: Int64] = [:]
        var reserved: Int64 = 0
        var holds = 0
        var windowEnd: Date?

        func spent(in window: BudgetWindow) -> Int64 {
            guard window.rolling else { return spent }
            let first = Int64(window.start.timeIntervalSince1970 / 3_600)
            return hourly.reduce(0) { $1.key >= first ? $0.saturatingAdd($1.value) : $0 }
        }

        func standing(_ budget: Budget, _ window: BudgetWindow) -> BudgetStanding {
            BudgetStanding(budget: budget, window: window, spent: spent(in: window), reserved: reserved)
        }
    }

    struct Charge {
        var key: CounterKey
        var budget: Budget
        var amount: Int64
        var hour: Int64
    }

    struct State {
        var counters: [CounterKey: Counter] = [:]
        var reservations: [String: [Charge]] = [:]
    }

    let store: any BudgetStore
    /// Runs before a window is counted from the ledger, so that what has ended but is not
    /// yet written (the ledger writer's pending batch) is counted too.
    let beforeCounting: @Sendable () async -> Void
    let state = Mutex(State())

    public init(store: any BudgetStore, beforeCounting: @escaping @Sendable () async -> Void = {}) {
        self.store = store
        self.beforeCounting = beforeCounting
    }

    static func key(_ budget: Budget, _ window: BudgetWindow) -> CounterKey {
        CounterKey(
            budgetID: budget.id, countingKey: budget.countingKey,
            windowStart: window.rolling ? nil : Int64((window.start.timeIntervalSince1970 * 1000).rounded())
        )
    }

    /// The window a budget is in at `date`. Each is kept until it ends: making one takes a
    /// time-zone lookup and a calendar, and every request needs its budgets' windows twice.
    func window(_ budget: Budget, at date: Date) -> BudgetWindow {
        let key = WindowKey(period: budget.period, timeZone: budget.timeZone)
        if let window = currentWindows.withLock({ $0[key] }), window.isCurrent(at: date) { return window }
        let window = budget.period.window(containing: date, timeZone: TimeZone(identifier: budget.timeZone) ?? .gmt)
        currentWindows.withLock { $0[key] = window }
        return window
    }

    struct WindowKey: Hashable {
        var period: BudgetPeriod
        var timeZone: String
    }

    let currentWindows = Mutex([WindowKey: BudgetWindow]())

    public func reserve(requestID: String, demand: BudgetDemand, budgets: [Budget], at date: Date) async throws -> BudgetVerdict {
        let windows = budgets.map { self.window($0, at: date) }
        try await count(budgets, windows, at: date)
        let hour = Int64(date.timeIntervalSince1970 / 3_600)
        return state.withLock { state in
            let standings = zip(budgets, windows).map { (state.counters[Self.key($0, $1)] ?? Counter()).standing($0, $1) }
            let verdict = BudgetDecision.decide(demand, standings: standings)
            guard case .admit(_, let amounts) = verdict else { return verdict }
            var charges: [Charge] = []
            for (index, budget) in budgets.enumerated() {
                let key = Self.key(budget, windows[index])
                var counter = state.counters[key] ?? Counter()
                counter.reserved = counter.reserved.saturatingAdd(amounts[index])
                counter.holds += 1
                state.counters[key] = counter
                charges.append(Charge(key: key, budget: budget, amount: amounts[index], hour: hour))
            }
            state.reservations[requestID] = charges
            return verdict
        }
    }

    public func settle(requestID: String, usage: Usage, cost: NanoUSD?, at date: Date) async -> [BudgetStanding] {
        state.withLock { state in
            guard let charges = state.reservations.removeValue(forKey: requestID) else { return [] }
            var standings: [BudgetStanding] = []
            for charge in charges {
                guard var counter = state.counters[charge.key] else { continue }
                // Saturated sums do not subtract back exactly: with no hold left, nothing is held.
                counter.holds -= 1
                counter.reserved = counter.holds == 0 ? 0 : max(0, counter.reserved.saturatingSubtract(charge.amount))
                // Never a credit: the meter does not believe negative usage, and a cost below
                // zero (a misconfigured price) must not give a budget room back either.
                let used = max(0, charge.budget.unit == .usd ? (cost?.value ?? 0) : usage.total)
                let window = self.window(charge.budget, at: date)
                if charge.key.windowStart == nil {
                    counter.hourly[charge.hour] = counter.hourly[charge.hour, default: 0].saturatingAdd(used)
                    if counter.hourly.count > 9_000 {
                        // Longer than any rolling window (366 days): drop the hours behind it.
                        let first = Int64(window.start.timeIntervalSince1970 / 3_600)
                        counter.hourly = counter.hourly.filter { $0.key >= first }
                    }
                } else {
                    counter.spent = counter.spent.saturatingAdd(used)
                }
                state.counters[charge.key] = counter
                if Self.key(charge.budget, window) == charge.key {
                    standings.append(counter.standing(charge.budget, window))
                }
            }
            return standings
        }
    }

    public func standings(of budgets: [Budget], at date: Date) async throws -> [BudgetStanding] {
        let windows = budgets.map { self.window($0, at: date) }
        try await count(budgets, windows, at: date)
        return state.withLock { state in
            zip(budgets, windows).map { (state.counters[Self.key($0, $1)] ?? Counter()).standing($0, $1) }
        }
    }

    /// Counts, from the ledger, the windows this process has not counted yet.
    func count(_ budgets: [Budget], _ windows: [BudgetWindow], at date: Date) async throws {
        let missing = state.withLock { state in
            zip(budgets, windows).filter { state.counters[Self.key($0, $1)] == nil }
        }
        guard !missing.isEmpty else { return }
        await beforeCounting()
        for (budget, window) in missing {
            var counter = Counter(windowEnd: window.rolling ? nil : window.end)
            if window.rolling {
                let hours = try await store.hourlySpend(scope: budget.scope, from: window.start, to: window.end ?? date)
                counter.hourly = hours.mapValues { $0.amount(budget.unit) }
            } else {
                counter.spent = try await store.spend(scope: budget.scope, from: window.start, to: window.end).amount(budget.unit)
            }
            state.withLock { state in
                let key = Self.key(budget, window)
                if state.counters[key] == nil { state.counters[key] = counter }
                // Windows that are over and hold nothing are never needed again.
                state.counters = state.counters.filter { $0.value.holds > 0 || ($0.value.windowEnd.map { $0 > date } ?? true) }
            }
        }
    }
}
