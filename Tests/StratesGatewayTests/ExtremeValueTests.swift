import Foundation
import StratesTestSupport
import Testing

@testable import StratesCore
@testable import StratesGateway
@testable import StratesLedger
@testable import StratesLedgerSQLite
@testable import StratesProviders
@testable import StratesWire

/// Property tests for the controls with numbers a hostile client, admin or upstream could
/// get past the edge: every control is driven with extreme and negative values, seeded so a
/// failure repeats. A trap ends the test binary, so each test finishing is the first check;
/// each then checks what must still hold.
@Suite struct ExtremeValueTests {
    static let extremes: [Int64] = [
        .min, .min + 1, -1_000_000_000_000_000, -4_096, -1, 0, 1, 2, 100, 4_096, 1_000_000, Bounds.usageTokensPerRequest,
        Bounds.tokens, Bounds.money, .max / 3, .max / 2, .max - 1, .max,
    ]

    /// An extreme value most of the time, otherwise any Int64.
    static func pick(_ random: inout SeededRandom) -> Int64 {
        random.next(in: 0...3) == 0 ? Int64(bitPattern: random.next()) : extremes[random.next(in: 0...(extremes.count - 1))]
    }

    /// A value an edge lets through: from 0 to `bound`.
    static func inBounds(_ random: inout SeededRandom, _ bound: Int64) -> Int64 {
        Int64(random.next() % UInt64(bound + 1))
    }

    @Test func saturatingArithmeticPinsInsteadOfTrapping() {
        var random = SeededRandom(23)
        for _ in 0..<20_000 {
            let a = Self.pick(&random)
            let b = Self.pick(&random)
            if a.addingReportingOverflow(b).overflow { #expect(a.saturatingAdd(b) == (b > 0 ? .max : .min)) } else { #expect(a.saturatingAdd(b) == a + b) }
            if a.subtractingReportingOverflow(b).overflow {
                #expect(a.saturatingSubtract(b) == (b < 0 ? .max : .min))
            } else {
                #expect(a.saturatingSubtract(b) == a - b)
            }
            if a.multipliedReportingOverflow(by: b).overflow {
                #expect(a.saturatingMultiply(b) == ((a < 0) == (b < 0) ? .max : .min))
            } else {
                #expect(a.saturatingMultiply(b) == a * b)
            }
            let d = Double(bitPattern: random.next())
            let pinned = Int64(saturating: d)
            if d.isNaN { #expect(pinned == 0) } else if d.magnitude < 0x1p62 { #expect(pinned == Int64(d)) }
        }
    }

    @Test func rateLimitsTakeAnyTokenCountAndTime() {
        var random = SeededRandom(47)
        for round in 0..<300 {
            let limit = RateLimit(
                id: "rl\(round)", name: "rl", scope: BudgetScope(kind: .team, value: "t"),
                requestsPerMinute: random.next(in: 0...1) == 0 ? nil : Self.pick(&random),
                tokensPerMinute: random.next(in: 0...1) == 0 ? nil : Self.pick(&random),
                maxConcurrentRequests: random.next(in: 0...2) == 0 ? Self.pick(&random) : nil
            )
            var book = RateLimitBook()
            var time = Double(random.next(in: 0...1_000))
            for request in 0..<20 {
                let tokens = Self.pick(&random)
                _ = book.admit(requestID: "r\(request)", tokens: tokens, limits: [limit], at: time, keepFreePercent: random.next(in: 0...100))
                if random.next(in: 0...1) == 0 {
                    book.release(requestID: "r\(request)", actualTokens: Self.pick(&random), refundRequest: random.next(in: 0...1) == 0)
                }
                time += [0, 0.001, 61, 1e12, 1e300][random.next(in: 0...4)]
            }
            #expect(book.requestsHeld >= 0)
            if let bucket = book.tokenBucket(of: limit, at: time) { #expect(!bucket.level.isNaN && bucket.level <= max(bucket.capacity, 0)) }
        }
    }

    /// Budgets of every unit, enforcement and exhaustion rule against any demand: no trap, and
    /// with values the edges let through, a hard budget's charges never pass its limit.
    @Test func budgetDecisionsTakeAnyDemandAndStanding() {
        var random = SeededRandom(71)
        for _ in 0..<20_000 {
            let bounded = random.next(in: 0...1) == 0
            let value = { (bound: Int64) -> Int64 in bounded ? Self.inBounds(&random, bound) : Self.pick(&random) }
            let input = value(Bounds.usageTokensPerRequest)
            let output = value(Bounds.defaultMaxOutputTokens)
            let rate = value(Bounds.rate)
            let demand = BudgetDemand(inputTokens: input, outputTokens: output, canCap: random.next(in: 0...1) == 0) { n in
                NanoUSD(input.saturatingAdd(n).saturatingMultiply(rate) / 1_000_000)
            }
            let standings = (0..<random.next(in: 1...3)).map { index in
                let unit: BudgetUnit = random.next(in: 0...1) == 0 ? .usd : .tokens
                let budget = Budget(
                    id: "b\(index)", name: "b\(index)", scope: BudgetScope(kind: .team, value: "t"), period: .day, unit: unit,
                    limit: value(unit == .usd ? Bounds.money : Bounds.tokens), enforcement: random.next(in: 0...2) == 0 ? .soft : .hard,
                    whenExhausted: random.next(in: 0...1) == 0 ? .cap : .reject
                )
                return BudgetStanding(
                    budget: budget, window: BudgetWindow(start: Date(), end: nil, rolling: false),
                    spent: value(budget.limit), reserved: value(budget.limit)
                )
            }
            let verdict = BudgetDecision.decide(demand, standings: standings)
            guard bounded, case .admit(let cap, let charges) = verdict else { continue }
            #expect(charges.allSatisfy { $0 >= 0 })
            if let cap { #expect(cap >= 0 && cap <= output) }
            for (standing, charge) in zip(standings, charges) where standing.budget.enforcement == .hard {
                #expect(
                    standing.spent + standing.reserved + charge <= max(standing.budget.limit, standing.spent + standing.reserved) || charge == 0,
                    "\(standing) charged \(charge)")
            }
        }
    }

    /// Soft budgets count whatever is reserved and settled, in parallel, without trapping;
    /// what they show stays within Int64 and is never negative.
    @Test func budgetCountersTakeHugeParallelDemands() async throws {
        let ledger = try SQLiteLedger(inMemory: ())
        let counters = InProcessBudgetCounters(store: ledger)
        let budgets = [
            Budget(id: "soft", name: "soft", scope: BudgetScope(kind: .team, value: "t"), period: .day, unit: .tokens, limit: 1_000, enforcement: .soft),
            Budget(id: "usd", name: "usd", scope: BudgetScope(kind: .team, value: "t"), period: .month, unit: .usd, limit: Bounds.money, enforcement: .soft),
        ]
        let now = Date()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<64 {
                group.addTask {
                    var random = SeededRandom(61, stream: UInt64(index))
                    let demand = BudgetDemand(inputTokens: Self.pick(&random), outputTokens: .max, canCap: false) { _ in NanoUSD(.max) }
                    _ = try await counters.reserve(requestID: "r\(index)", demand: demand, budgets: budgets, at: now)
                    let usage = Usage(input: Self.pick(&random), output: Self.pick(&random), cacheRead: Self.pick(&random))
                    _ = await counters.settle(requestID: "r\(index)", usage: usage, cost: NanoUSD(Self.pick(&random)), at: now)
                }
            }
            try await group.waitForAll()
        }
        for standing in try await counters.standings(of: budgets, at: now) {
            #expect(standing.reserved == 0, "every reservation was settled")
            #expect(standing.spent >= 0 || standing.spent == .min, "\(standing)")
        }
    }

    /// Grants of any amount, rollover and cap, started in 2000 and read in 2099 with any
    /// usage and transfers: statements always compute (a huge full-rollover grant once
    /// trapped on every read, a crash loop that survived restarts).
    @Test func grantStatementsTakeAnyAmountOverACentury() {
        var random = SeededRandom(97)
        let rollovers: [GrantRollover] = [.none, .capped, .full]
        let periods: [GrantPeriod] = [.month, .once, .month, .month]
        for round in 0..<300 {
            let adjustments = (0..<random.next(in: 0...3)).map { _ in
                GrantAdjustment(at: Bounds.earliestDate.addingTimeInterval(Double(random.next(in: 0...3_000_000_000))), amount: Self.pick(&random), note: "t")
            }
            let grant = Grant(
                id: "g\(round)", name: "g", member: "m", unit: random.next(in: 0...1) == 0 ? .usd : .tokens, amount: Self.pick(&random),
                period: periods[random.next(in: 0...(periods.count - 1))], rollover: rollovers[random.next(in: 0...2)],
                rolloverCap: random.next(in: 0...1) == 0 ? Self.pick(&random) : nil, startsAt: Bounds.earliestDate,
                expiresAt: random.next(in: 0...2) == 0 ? Bounds.latestDate : nil, adjustments: adjustments
            )
            var usage: [Int64: Int64] = [:]
            for _ in 0..<random.next(in: 0...20) {
                usage[GrantStatement.quarter(Bounds.earliestDate) + Int64(random.next(in: 0...3_500_000)), default: 0] = Self.pick(&random)
            }
            let statement = GrantStatement(grant: grant, at: Bounds.latestDate.addingTimeInterval(-86_400 * Double(random.next(in: 1...400))), usage: usage)
            #expect(statement.balance >= 0)
            _ = (statement.usedTotal, statement.lapsedTotal, statement.expiring, statement.fundsExpiry)
        }
    }

    /// Prices applied to any usage: the cost saturates rather than traps, and usage the edges
    /// let through costs a non-negative amount.
    @Test func costsOfAnyUsageAreComputed() {
        let catalog = PriceCatalog.builtIn()
        var random = SeededRandom(131)
        for _ in 0..<5_000 {
            let bounded = random.next(in: 0...1) == 0
            let count = { bounded ? Self.inBounds(&random, Bounds.usageTokensPerRequest) : Self.pick(&random) }
            let usage = Usage(input: count(), output: count(), cacheRead: count(), cacheWrite5m: count(), cacheWrite1h: count(), reasoning: count())
            for model in ["gpt-4o-mini", "claude-sonnet-4-5", "o4-mini"] {
                let provider = model.hasPrefix("claude") ? "anthropic" : "openai"
                let cost = catalog.cost(of: usage, provider: provider, model: model)
                if bounded, case .known(let amount) = cost { #expect(amount.value >= 0, "\(usage) on \(model)") }
            }
        }
    }
}
