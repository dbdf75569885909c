import Foundation
import StratesCore
import StratesLedger
import StratesLedgerSQLite
import StratesTestSupport
import StratesWire
import Synchronization
import Testing

@testable import StratesGateway
@testable import StratesProviders

@Suite struct ProductionReserveRuleTests {
    func make(_ object: [String: Any], current: ProductionReserve? = nil) throws(RuleProblems) -> ProductionReserve {
        var fields = RuleFields(object, known: ProductionReserve.fields)
        return try ProductionReserve.make(from: &fields, current: current, id: "reserve_1", now: at("2026-11-01"))
    }

    @Test func defaultsThrottlePersonalBeforeSandbox() throws {
        let reserve = try make(["scope": "organization:acme", "capacity_usd": 20_000])
        #expect(reserve.name == "acme-reserve")
        #expect(reserve.capacity == .spend(nanoUSD: 20_000 * dollar, period: .month, timeZone: "UTC"))
        #expect((reserve.productionShare, reserve.sandboxUntil, reserve.personalUntil) == (30, 70, 60))
        #expect(reserve.ceiling(for: .production) == nil && reserve.ceiling(for: .sandbox) == 70 && reserve.ceiling(for: .personal) == 60)
        let tpm = try make(["scope": "organization:acme", "capacity_tpm": 2_000_000, "provider": "openai", "production_share": 40])
        #expect(tpm.capacity == .tokensPerMinute(2_000_000, provider: "openai"))
        #expect((tpm.sandboxUntil, tpm.personalUntil) == (60, 50))
        #expect(tpm.counts(provider: "openai") && !tpm.counts(provider: "anthropic") && reserve.counts(provider: "anthropic"))
    }

    @Test func namesEveryProblem() {
        do {
            _ = try make([
                "scope": "team:platform", "capacity_usd": 10, "capacity_tpm": 5, "production_share": 0, "sandbox_until": 120, "personal_until": 130,
            ])
            Issue.record("expected problems")
        } catch {
            let text = "\(error)"
            for expected in ["scope is the organization", "not both", "production_share must be 1 to 99", "sandbox_until 120%", "personal_until 130%"] {
                #expect(text.contains(expected), "missing: \(expected) in \(text)")
            }
        }
        #expect(throws: RuleProblems.self) { try make(["scope": "organization:acme"]) }
        #expect(throws: RuleProblems.self) { try make(["scope": "organization:acme", "capacity_tpm": 100, "period": "week"]) }
        #expect(throws: RuleProblems.self) { try make(["scope": "organization:acme", "capacity_usd": 100, "provider": "openai"]) }
        #expect(throws: RuleProblems.self) { try make(["scope": "organization:acme", "capacity_usd": 100, "time_zone": "Mars/Base"]) }
    }

    @Test func aNewShareMovesTheDefaultCeilingsUnlessTheyAreSet() throws {
        let reserve = try make(["scope": "organization:acme", "capacity_usd": 100])
        let moved = try make(["production_share": 50], current: reserve)
        #expect((moved.sandboxUntil, moved.personalUntil) == (50, 40))
        let pinned = try make(["personal_until": 20], current: moved)
        #expect((pinned.productionShare, pinned.sandboxUntil, pinned.personalUntil) == (50, 50, 20))
        #expect(pinned.capacity == reserve.capacity && pinned.createdAt == reserve.createdAt)
    }
}

/// A clock tests move by hand.
final class ManualClock: Sendable {
    let seconds = Mutex(0.0)
    func advance(_ by: Double) { seconds.withLock { $0 += by } }
    var read: @Sendable () -> Double { { self.seconds.withLock { $0 } } }
}

@Suite struct ReserveGuardTests {
    func record(_ id: String, _ environment: Environment, provider: String = "openai", input: Int64 = 50) -> RequestRecord {
        RequestRecord(
            id: id, startedAt: at("2026-11-20"), api: "chat_completions", stream: false, status: .completed,
            attribution: Attribution(organization: "acme", member: "ana", environment: environment), requestedModel: "m",
            servedModel: "m", provider: provider, inputEstimate: input
        )
    }

    func summary(maxTokens: Int) throws -> RequestSummary {
        try RequestSummary.inspect(Array(#"{"model":"m","max_tokens":\#(maxTokens),"messages":[]}"#.utf8), api: .chatCompletions)
    }

    func reserve(_ capacity: ProductionReserve.Capacity) -> ProductionReserve {
        ProductionReserve(id: "reserve_acme", name: "acme-reserve", organization: "acme", capacity: capacity, productionShare: 30)
    }

    /// $1 per thousand tokens in and out, so dollars read as tokens.
    func pricing() -> Pricing {
        var catalog = PriceCatalog()
        let rate = TokenRate(dollarsPerMillion: "1000")!
        catalog.add(ModelPrice(provider: "openai", model: "m", effectiveFrom: at("2026-01-01"), input: rate, output: rate))
        return Pricing(catalog)
    }

    func guardOver(_ ledger: SQLiteLedger, _ reserves: [ProductionReserve], clock: ManualClock) async throws -> ReserveGuard {
        try await ledger.save(rules: reserves)
        let reserveGuard = ReserveGuard(store: ledger, clock: clock.read, now: { at("2026-11-20") })
        try await reserveGuard.reload()
        return reserveGuard
    }

    func admits(_ reserveGuard: ReserveGuard, _ record: RequestRecord, maxTokens: Int = 50) async throws -> Bool {
        do {
            try await reserveGuard.admit(record, summary: summary(maxTokens: maxTokens), api: .chatCompletions, pricing: pricing())
            return true
        } catch let error as GatewayError {
            #expect(error.statusCode == 429 && error.code == "production_reserve")
            return false
        }
    }

    /// 1,000 tokens a minute; personal stops at 600, sandbox at 700, production never.
    @Test func tokensPerMinuteThrottlePersonalThenSandboxAndNeverProduction() async throws {
        let clock = ManualClock()
        let reserveGuard = try await guardOver(try SQLiteLedger(inMemory: ()), [reserve(.tokensPerMinute(1_000, provider: "openai"))], clock: clock)
        for i in 0..<6 { #expect(try await admits(reserveGuard, record("p\(i)", .personal))) }
        #expect(try await !admits(reserveGuard, record("p6", .personal)))
        #expect(try await admits(reserveGuard, record("s0", .sandbox)))
        #expect(try await !admits(reserveGuard, record("s1", .sandbox)))
        for i in 0..<5 { #expect(try await admits(reserveGuard, record("prod\(i)", .production))) }
        // Production used the rest and more: it is never refused, and it counts.
        #expect(try await admits(reserveGuard, record("prod-over", .production, input: 5_000)))
        // Another provider's traffic does not count against an OpenAI rate-limit reserve.
        #expect(try await admits(reserveGuard, record("other", .personal, provider: "anthropic")))
        let standing = try #require(try await reserveGuard.standings().first)
        #expect(standing.used == 6_250 && standing.open == [.production])

        // The refusal says which reserve, the ceiling, and when to retry.
        do {
            try await reserveGuard.admit(record("late", .personal), summary: summary(maxTokens: 50), api: .chatCompletions, pricing: pricing())
            Issue.record("expected a refusal")
        } catch let error as GatewayError {
            #expect(error.message.contains("'acme-reserve' keeps 30% of 1000 tokens per minute on openai"))
            #expect(error.message.contains("personal traffic may use up to 60% (600 tokens)"))
            #expect(error.headers.contains { $0.name == "retry-after" } && error.headers.contains { $0 == ("x-strates-reserve", "acme-reserve") })
        }

        // Finished requests settle to what they used; a minute later the bucket is whole.
        var done = record("prod-over", .production)
        done.usage = Usage(input: 100, output: 0)
        reserveGuard.release(done)
        clock.advance(60)
        #expect(try await admits(reserveGuard, record("next", .personal)))
        // A request larger than personal's whole share is refused without a retry time.
        do {
            try await reserveGuard.admit(record("huge", .personal, input: 700), summary: summary(maxTokens: 0), api: .chatCompletions, pricing: pricing())
            Issue.record("expected a refusal")
        } catch let error as GatewayError {
            #expect(error.headers.contains { $0 == ("x-should-retry", "false") })
        }
    }

    /// Random mixed load: production is never refused; at any moment, a request personal
    /// traffic may send, sandbox may send too; and no admission takes an environment past
    /// its ceiling.
    @Test func mixedLoadProperty() throws {
        var generator = SeededRandom(7)
        for trial in 0..<200 {
            let capacity = Int64.random(in: 500...50_000, using: &generator)
            let share = Int.random(in: 1...99, using: &generator)
            let sandbox = Int.random(in: 0...(100 - share), using: &generator)
            let personal = Int.random(in: 0...sandbox, using: &generator)
            let reserve = ProductionReserve(
                id: "r", name: "r", organization: "acme", capacity: .tokensPerMinute(capacity, provider: nil), productionShare: share,
                sandboxUntil: sandbox, personalUntil: personal
            )
            let limit = try #require(ReserveGuard.tokenLimit(reserve))
            var book = RateLimitBook()
            var time = 0.0
            var inFlight: [String] = []
            for step in 0..<300 {
                time += Double.random(in: 0...0.5, using: &generator)
                let tokens = Int64.random(in: 1...(capacity / 5), using: &generator)
                var trials: [Environment: Bool] = [:]
                for environment in Environment.allCases {
                    var copy = book
                    if case .admit = ReserveGuard.admit(&copy, "probe", tokens: tokens, limit: limit, reserve: reserve, environment: environment, at: time) {
                        trials[environment] = true
                        let used = Double(capacity) - (copy.tokenBucket(of: limit, at: time)?.level ?? 0)
                        if let ceiling = reserve.ceiling(for: environment) {
                            #expect(used <= Double(capacity) * Double(ceiling) / 100 + 1e-6, "trial \(trial) step \(step): \(environment) past its ceiling")
                        }
                    } else {
                        trials[environment] = false
                    }
                }
                #expect(trials[.production] == true, "trial \(trial) step \(step): production refused")
                if trials[.personal] == true { #expect(trials[.sandbox] == true, "trial \(trial) step \(step): personal admitted where sandbox is not") }
                let environment = Environment.allCases.randomElement(using: &generator)!
                let id = "t\(step)"
                if case .admit = ReserveGuard.admit(&book, id, tokens: tokens, limit: limit, reserve: reserve, environment: environment, at: time) {
                    inFlight.append(id)
                }
                if !inFlight.isEmpty, Bool.random(using: &generator) {
                    let done = inFlight.remove(at: Int.random(in: 0..<inFlight.count, using: &generator))
                    book.release(requestID: done, actualTokens: Int64.random(in: 0...tokens, using: &generator), refundRequest: false)
                }
            }
        }
    }

    /// $10 a month of organization spend: with $5.50 spent, personal ($6 ceiling) fits one
    /// $0.10 request at most 5 times, sandbox ($7) 10 more, and production always passes.
    @Test func spendReserveCountsTheOrganizationsSpendFromTheLedger() async throws {
        let ledger = try SQLiteLedger(inMemory: ())
        var earlier = record("earlier", .production)
        earlier.startedAt = at("2026-11-05")
        earlier.usage = Usage(input: 5_500, output: 0)
        earlier.cost = NanoUSD(5_500_000_000)
        try await ledger.insert([earlier])
        let reserveGuard = try await guardOver(ledger, [reserve(.spend(nanoUSD: 10 * dollar, period: .month, timeZone: "UTC"))], clock: ManualClock())
        var personal = 0
        for i in 0..<20 where try await admits(reserveGuard, record("p\(i)", .personal)) { personal += 1 }
        #expect(personal == 5)
        var sandbox = 0
        for i in 0..<20 where try await admits(reserveGuard, record("s\(i)", .sandbox)) { sandbox += 1 }
        #expect(sandbox == 10)
        for i in 0..<40 { #expect(try await admits(reserveGuard, record("prod\(i)", .production))) }
        let standing = try #require(try await reserveGuard.standings().first)
        #expect(standing.used == 5_500_000_000 && standing.reserved == 5_500_000_000 && standing.open == [.production])
        do {
            try await reserveGuard.admit(record("late", .personal), summary: summary(maxTokens: 50), api: .chatCompletions, pricing: pricing())
            Issue.record("expected a refusal")
        } catch let error as GatewayError {
            #expect(
                error.message.contains("personal traffic may use up to 60% ($6.000000)") && error.message.contains("It resets at 2026-12-01T00:00:00Z"),
                "\(error.message)")
            #expect(error.headers.contains { $0 == ("x-should-retry", "false") })
        }
    }

    /// 256 personal requests at once against room for exactly 10: exactly 10 pass.
    @Test func holdsUnderConcurrency() async throws {
        let reserveGuard = try await guardOver(try SQLiteLedger(inMemory: ()), [reserve(.tokensPerMinute(10_000, provider: nil))], clock: ManualClock())
        let summary = try summary(maxTokens: 550)
        let pricing = pricing()
        let admitted = await withTaskGroup(of: Bool.self) { group in
            for i in 0..<256 {
                group.addTask {
                    (try? await reserveGuard.admit(self.record("r\(i)", .personal), summary: summary, api: .chatCompletions, pricing: pricing)) != nil
                }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(admitted == 10)
    }
}
