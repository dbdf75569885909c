import Foundation
import StratesTestSupport
import Testing

@testable import StratesCore
@testable import StratesGateway
@testable import StratesLedger
@testable import StratesLedgerSQLite
@testable import StratesServer
@testable import StratesWire

@Suite struct GrantStatementTests {
    func monthly(_ amount: Int64 = 50 * dollar, rollover: GrantRollover = .none, cap: Int64? = nil, expires: Date? = nil, zone: String = "UTC") -> Grant {
        Grant(
            id: "grant_a", name: "ana-rnd", member: "ana", unit: .usd, amount: amount, period: .month, rollover: rollover,
            rolloverCap: cap, startsAt: at("2026-10-01"), expiresAt: expires, timeZone: zone
        )
    }

    /// Usage in the grant's unit at the given times.
    func usage(_ spends: [(String, Int64)]) -> [Int64: Int64] {
        var quarters: [Int64: Int64] = [:]
        for (time, amount) in spends { quarters[GrantStatement.quarter(at(time)), default: 0] += amount }
        return quarters
    }

    @Test(arguments: [
        (GrantRollover.none, Int64?.none, Int64(50), Int64(20)),
        (.capped, 25, 70, 0),
        (.capped, 10, 60, 10),
        (.full, nil, 70, 0),
    ])
    func unusedMoneyCarriesByTheRolloverRule(rollover: GrantRollover, cap: Int64?, december: Int64, novemberLapsed: Int64) {
        let grant = monthly(rollover: rollover, cap: cap.map { $0 * dollar })
        // October fully used, November 30 of 50 used (20 left), none yet in December.
        let spent = usage([("2026-10-10T10:00:00Z", 50 * dollar), ("2026-11-03T09:00:00Z", 10 * dollar), ("2026-11-30T23:59:00Z", 20 * dollar)])
        let statement = GrantStatement(grant: grant, at: at("2026-12-05T12:00:00Z"), usage: spent)
        #expect(statement.state == .active)
        #expect(statement.periods.count == 3)
        #expect(statement.periods[1].used == 30 * dollar)
        #expect(statement.current?.available == december * dollar)
        #expect(statement.balance == december * dollar)
        #expect(statement.periods[1].lapsed == novemberLapsed * dollar)
        #expect(statement.periods[0].lapsed == 0 && statement.periods[0].carriedOut == 0)
        #expect(statement.usedTotal == 80 * dollar)
    }

    @Test func whatLapsesNextFollowsTheRolloverRule() throws {
        let none = GrantStatement(grant: monthly(), at: at("2026-12-05"), usage: [:])
        let noneExpiring = try #require(none.expiring)
        #expect(noneExpiring.amount == 50 * dollar && noneExpiring.at == at("2027-01-01"))
        let capped = GrantStatement(grant: monthly(rollover: .capped, cap: 30 * dollar), at: at("2026-12-05"), usage: [:])
        // October and November carried 30 each time (capped): December holds 80, 50 of it lapses.
        #expect(capped.current?.available == 80 * dollar)
        #expect(capped.expiring?.amount == 50 * dollar)
        #expect(GrantStatement(grant: monthly(rollover: .full), at: at("2026-12-05"), usage: [:]).expiring == nil)
        // An expiry inside the period takes all of the balance then.
        let ending = GrantStatement(grant: monthly(rollover: .full, expires: at("2026-12-20")), at: at("2026-12-05"), usage: [:])
        #expect(ending.expiring?.amount == 150 * dollar && ending.expiring?.at == at("2026-12-20"))
    }

    @Test func anExpiredGrantHasNothingLeftAndItsLastPeriodLapses() {
        let grant = monthly(rollover: .full, expires: at("2026-11-15"))
        let spent = usage([("2026-11-14T23:50:00Z", 5 * dollar), ("2026-11-15T00:10:00Z", 7 * dollar)])
        let before = GrantStatement(grant: grant, at: at("2026-11-14T23:59:00Z"), usage: spent)
        #expect(before.state == .active && before.balance == 95 * dollar)
        let after = GrantStatement(grant: grant, at: at("2026-11-20"), usage: spent)
        #expect(after.state == .expired && after.balance == 0 && after.current == nil && after.expiring == nil)
        // Usage after the expiry instant is not the grant's; the 95 left lapsed.
        #expect(after.usedTotal == 5 * dollar)
        #expect(after.periods.last?.lapsed == 95 * dollar)
        #expect(after.periods.last?.window.end == at("2026-11-15"))
    }

    @Test func aPendingGrantHasNoBalanceYet() {
        let grant = monthly()
        let statement = GrantStatement(grant: grant, at: at("2026-09-20"), usage: [:])
        #expect(statement.state == .pending && statement.balance == 0 && statement.periods.isEmpty)
    }

    @Test func aOneTimeGrantIsAllocatedOnceAndNeverLapsesBeforeExpiry() {
        let grant = Grant(id: "g", name: "atlas", member: "bo", unit: .tokens, amount: 1_000_000, period: .once, purpose: "project", startsAt: at("2026-06-01"))
        let statement = GrantStatement(grant: grant, at: at("2026-12-01"), usage: usage([("2026-07-01", 300_000), ("2026-11-30", 200_000)]))
        #expect(statement.periods.count == 1)
        #expect(statement.balance == 500_000 && statement.expiring == nil && statement.fundsExpiry == nil)
    }

    @Test func periodsStartAtMidnightInTheGrantsZone() {
        let grant = monthly(zone: "Europe/Paris")
        // 23:30 UTC on 30 November is 00:30 on 1 December in Paris: December's usage.
        let spent = usage([("2026-11-30T23:30:00Z", 10 * dollar)])
        let statement = GrantStatement(grant: grant, at: at("2026-12-02"), usage: spent)
        #expect(statement.current?.used == 10 * dollar)
        #expect(statement.current?.window.start == at("2026-11-30T23:00:00Z"))
    }

    @Test func overspendCarriesAsDebtUnlessNothingRollsOver() {
        let spent = usage([("2026-11-10", 55 * dollar)])
        #expect(GrantStatement(grant: monthly(rollover: .full), at: at("2026-12-02"), usage: spent).current?.available == 95 * dollar)
        #expect(GrantStatement(grant: monthly(rollover: .none), at: at("2026-12-02"), usage: spent).current?.available == 50 * dollar)
    }

    @Test func aTransferMovesBalanceAndLapsesWhenTheGiversMoneyWould() throws {
        let grant = monthly()
        let now = at("2026-11-20T10:00:00Z")
        let statement = GrantStatement(grant: grant, at: now, usage: usage([("2026-11-05", 10 * dollar)]))
        let (source, received) = try GrantTransfer.make(from: statement, to: "bo", amount: 15 * dollar, note: "pairing", id: "grant_0123abcd", now: now)
        #expect(received.member == "bo" && received.amount == 15 * dollar && received.period == .once)
        #expect(received.expiresAt == at("2026-12-01") && received.transferredFrom == grant.id)
        #expect(GrantStatement(grant: source, at: now, usage: usage([("2026-11-05", 10 * dollar)])).balance == 25 * dollar)
        // December is untouched by November's transfer.
        #expect(GrantStatement(grant: source, at: at("2026-12-02"), usage: [:]).balance == 50 * dollar)
        #expect(GrantStatement(grant: received, at: at("2026-12-02"), usage: [:]).state == .expired)
        // More than the balance, to oneself, or nothing: refused with reasons.
        #expect(throws: RuleProblems.self) { try GrantTransfer.make(from: statement, to: "bo", amount: 41 * dollar, note: nil, id: "x", now: now) }
        #expect(throws: RuleProblems.self) { try GrantTransfer.make(from: statement, to: "ana", amount: dollar, note: nil, id: "x", now: now) }
        #expect(throws: RuleProblems.self) { try GrantTransfer.make(from: statement, to: "bo", amount: 0, note: nil, id: "x", now: now) }
        // A grant that rolls over in full gives money that lasts as long as the grant.
        let full = GrantStatement(grant: monthly(rollover: .full), at: now, usage: [:])
        #expect(try GrantTransfer.make(from: full, to: "bo", amount: dollar, note: nil, id: "grant_x", now: now).received.expiresAt == nil)
    }
}

@Suite struct GrantFieldTests {
    func make(_ object: [String: Any], current: Grant? = nil) throws(RuleProblems) -> Grant {
        var fields = RuleFields(object, known: Grant.fields)
        return try Grant.make(from: &fields, current: current, id: "grant_1", now: at("2026-11-23T11:00:00Z"))
    }

    @Test func readsTheAPIShapeWithDefaults() throws {
        let grant = try make(["scope": "member:ana", "amount_usd": "50"])
        #expect(grant.unit == .usd && grant.amount == 50 * dollar && grant.period == .month && grant.rollover == .none)
        #expect(grant.name == "ana-allowance" && grant.purpose == "benefit")
        #expect(grant.startsAt == at("2026-11-01"))
        let tokens = try make(["scope": "member:bo", "amount_tokens": 2_000_000, "period": "once", "expires_at": "2027-01-31", "purpose": "project"])
        #expect(tokens.unit == .tokens && tokens.expiresAt == at("2027-01-31"))
        let capped = try make(["scope": "member:cy", "amount_usd": 30, "rollover": "capped", "rollover_cap": "12.5", "time_zone": "Asia/Kolkata"])
        #expect(capped.rolloverCap == 12_500_000_000)
        #expect(capped.startsAt == at("2026-10-31T18:30:00Z"))
    }

    @Test func namesEveryProblem() {
        do {
            _ = try make(["scope": "team:platform", "amount_usd": "x", "period": "year", "rollover": "capped", "expires_at": "tomorrow", "color": 1])
            Issue.record("expected problems")
        } catch {
            let text = error.description
            for needle in ["member:", "amount_usd", "period 'year'", "rollover_cap", "expires_at 'tomorrow'", "unknown field 'color'"] {
                #expect(text.contains(needle), "missing \(needle) in \(text)")
            }
        }
        #expect(throws: RuleProblems.self) { try make(["scope": "member:a", "amount_usd": 1, "amount_tokens": 5]) }
        #expect(throws: RuleProblems.self) { try make(["scope": "member:a", "amount_usd": 1, "starts_at": "2026-12-01", "expires_at": "2026-11-01"]) }
        #expect(throws: RuleProblems.self) { try make(["scope": "member:a", "amount_usd": 1, "starts_at": "2026-02-30"]) }
    }

    @Test func changesKeepWhatTheyDoNotName() throws {
        let grant = try make(["scope": "member:ana", "amount_usd": 50, "rollover": "full", "expires_at": "2027-06-30"])
        let changed = try make(["amount_usd": 60, "expires_at": NSNull()], current: grant)
        #expect(changed.amount == 60 * dollar && changed.rollover == .full && changed.expiresAt == nil && changed.startsAt == grant.startsAt)
        let json = try JSONSerialization.jsonObject(with: Data(APIJSON.text(changed).utf8)) as? [String: Any]
        #expect(json?["amount_usd"] as? String == "60.000000" && json?["member"] as? String == "ana")
    }

    /// Arbitrary mixes of fields never crash: they make a grant that passes its own rules, or name a problem.
    @Test func fuzzedFieldsEitherMakeAValidGrantOrSayWhy() {
        var generator = SeededRandom(104)
        let values: [Any] = [
            "member:ana", "team:x", "50", "-3", 12, 0, 2.5, "once", "month", "capped", "full", "none", "2026-12-01", "2027-01-01T00:00:00Z", "", NSNull(), true,
            ["a"], "Europe/Paris", "Mars/Base",
        ]
        let keys = Array(Grant.fields) + ["bogus"]
        for _ in 0..<3_000 {
            var object: [String: Any] = [:]
            for _ in 0..<Int.random(in: 0...6, using: &generator) {
                object[keys.randomElement(using: &generator)!] = values.randomElement(using: &generator)!
            }
            do {
                let grant = try make(object)
                #expect(grant.amount > 0 && grant.scope.kind == .member)
                #expect(grant.expiresAt.map { $0 > grant.startsAt } ?? true)
                #expect(grant.rollover != .capped || grant.rolloverCap != nil)
            } catch {
                #expect(!error.problems.isEmpty)
            }
        }
    }
}

@Suite struct GrantGuardTests {
    let pricing = Pricing(PriceCatalog.builtIn())

    func record(_ id: String, member: String = "ana", environment: Environment = .personal, at date: Date) -> RequestRecord {
        RequestRecord(
            id: id, startedAt: date, api: "chat_completions", stream: false, status: .completed,
            attribution: Attribution(organization: "default", member: member, environment: environment), requestedModel: "m",
            servedModel: "m", provider: "sim", inputEstimate: 100
        )
    }

    func summary(maxTokens: Int) throws -> RequestSummary {
        try RequestSummary.inspect(Array(#"{"model":"m","max_tokens":\#(maxTokens),"messages":[]}"#.utf8), api: .chatCompletions)
    }

    func tokenGrant(
        _ id: String, amount: Int64, period: GrantPeriod = .month, rollover: GrantRollover = .none, expires: Date? = nil, created: Date = at("2026-11-01")
    ) -> Grant {
        Grant(
            id: id, name: id, member: "ana", unit: .tokens, amount: amount, period: period, rollover: rollover, startsAt: at("2026-11-01"), expiresAt: expires,
            createdAt: created)
    }

    func guardOver(_ ledger: SQLiteLedger, _ grants: [Grant]) async throws -> GrantGuard {
        try await ledger.save(rules: grants)
        let grantGuard = GrantGuard(store: ledger)
        try await grantGuard.reload()
        return grantGuard
    }

    @Test func personalUseDrawsFromTheGrantThatLapsesFirstAndOthersAreUntouched() async throws {
        let ledger = try SQLiteLedger(inMemory: ())
        let monthly = tokenGrant("monthly", amount: 1_000)
        let project = tokenGrant("project", amount: 5_000, period: .once)
        let grantGuard = try await guardOver(ledger, [project, monthly])
        let now = at("2026-11-20")
        // The monthly money lapses on 1 December, the project grant never: monthly pays first.
        #expect(try await grantGuard.admit(record("r1", at: now), summary: summary(maxTokens: 400), api: .chatCompletions, pricing: pricing) == "monthly")
        #expect(try await grantGuard.admit(record("r2", at: now), summary: summary(maxTokens: 400), api: .chatCompletions, pricing: pricing) == "monthly")
        // 1,000 reserved: the next one only fits in the project grant.
        #expect(try await grantGuard.admit(record("r3", at: now), summary: summary(maxTokens: 400), api: .chatCompletions, pricing: pricing) == "project")
        // Production and sandbox traffic, and other members, do not touch grants.
        #expect(
            try await grantGuard.admit(
                record("p", environment: .production, at: now), summary: summary(maxTokens: 400), api: .chatCompletions, pricing: pricing) == nil)
        #expect(
            try await grantGuard.admit(record("b", member: "bo", at: now), summary: summary(maxTokens: 400), api: .chatCompletions, pricing: pricing) == nil)
        // r1 settles at 150 tokens: 350 comes back to the monthly grant.
        var done = record("r1", at: now)
        done.grantID = "monthly"
        done.usage = Usage(input: 100, output: 50)
        grantGuard.settle(done)
        #expect(try await grantGuard.admit(record("r4", at: now), summary: summary(maxTokens: 200), api: .chatCompletions, pricing: pricing) == "monthly")
        let statements = try await grantGuard.statements(of: [monthly], at: now)
        let reserved: Int64? = statements.first?.reserved
        #expect(reserved == 800)
    }

    @Test func refusesInTheCallersTermsWhenNoGrantCanPay() async throws {
        let ledger = try SQLiteLedger(inMemory: ())
        let grantGuard = try await guardOver(ledger, [tokenGrant("small", amount: 300)])
        do {
            _ = try await grantGuard.admit(record("r", at: at("2026-11-20")), summary: summary(maxTokens: 400), api: .chatCompletions, pricing: pricing)
            Issue.record("expected a refusal")
        } catch let error as GatewayError {
            #expect(error.statusCode == 429 && error.code == "grant_exhausted")
            #expect(error.message.contains("'small' has 300 tokens left") && error.message.contains("up to 500 tokens"))
        }
        // An expired grant still governs: personal use is refused, saying so.
        let expired = try await guardOver(try SQLiteLedger(inMemory: ()), [tokenGrant("old", amount: 300, expires: at("2026-11-10"))])
        do {
            _ = try await expired.admit(record("r", at: at("2026-11-20")), summary: summary(maxTokens: 10), api: .chatCompletions, pricing: pricing)
            Issue.record("expected a refusal")
        } catch let error as GatewayError {
            #expect(error.message.contains("none is active"))
        }
    }

    @Test func aNewPeriodIsCountedFromTheLedgerWithRollover() async throws {
        let ledger = try SQLiteLedger(inMemory: ())
        let grant = tokenGrant("g", amount: 1_000, rollover: .full)
        var spent = record("old", at: at("2026-11-10"))
        spent.grantID = "g"
        spent.usage = Usage(input: 400, output: 200)
        try await ledger.insert([spent])
        let grantGuard = try await guardOver(ledger, [grant])
        // 400 carried from November: 1,400 in December; 1,300 fits, 1,500 does not.
        #expect(
            try await grantGuard.admit(record("a", at: at("2026-12-02")), summary: summary(maxTokens: 1_200), api: .chatCompletions, pricing: pricing) == "g")
        await #expect(throws: GatewayError.self) {
            try await grantGuard.admit(
                self.record("b", at: at("2026-12-02")), summary: self.summary(maxTokens: 1), api: .chatCompletions, pricing: self.pricing)
        }
    }

    /// 256 requests at once against a grant with room for exactly 10: exactly 10 are admitted.
    @Test func holdsUnderConcurrency() async throws {
        let ledger = try SQLiteLedger(inMemory: ())
        let grantGuard = try await guardOver(ledger, [tokenGrant("g", amount: 5_000)])
        let summary = try summary(maxTokens: 400)
        let admitted = await withTaskGroup(of: Bool.self) { group in
            for i in 0..<256 {
                group.addTask {
                    (try? await grantGuard.admit(self.record("r\(i)", at: at("2026-11-20")), summary: summary, api: .chatCompletions, pricing: self.pricing))
                        != nil
                }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(admitted == 10)
    }
}
