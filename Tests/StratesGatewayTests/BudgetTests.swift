import Foundation
import StratesTestSupport
import Synchronization
import Testing

@testable import StratesCore
@testable import StratesGateway
@testable import StratesLedger
@testable import StratesLedgerSQLite
@testable import StratesWire

@Suite struct BudgetPeriodTests {
    func date(_ text: String) -> Date {
        let formatter = ISO8601DateFormatter()
        return formatter.date(from: text)!
    }

    @Test(arguments: [
        // (period, time zone, instant, expected start, expected end)
        ("day", "UTC", "2026-11-23T08:00:00Z", "2026-11-23T00:00:00Z", "2026-11-24T00:00:00Z"),
        ("day", "Europe/Paris", "2026-11-23T23:30:00Z", "2026-11-23T23:00:00Z", "2026-11-24T23:00:00Z"),
        ("day", "America/Los_Angeles", "2026-11-23T05:00:00Z", "2026-11-22T08:00:00Z", "2026-11-23T08:00:00Z"),
        ("week", "UTC", "2026-11-29T12:00:00Z", "2026-11-23T00:00:00Z", "2026-11-30T00:00:00Z"),
        ("month", "UTC", "2026-11-30T23:59:59Z", "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z"),
        ("month", "Asia/Tokyo", "2026-11-30T16:00:00Z", "2026-11-30T15:00:00Z", "2026-12-31T15:00:00Z"),
        // Paris leaves summer time on 25 October: that day has 25 hours.
        ("day", "Europe/Paris", "2026-10-25T12:00:00Z", "2026-10-24T22:00:00Z", "2026-10-25T23:00:00Z"),
        ("rolling:7d", "UTC", "2026-11-23T08:20:00Z", "2026-11-16T09:00:00Z", "2026-11-23T09:00:00Z"),
    ])
    func windows(period: String, zone: String, at: String, start: String, end: String) throws {
        let parsed = try #require(BudgetPeriod(text: period))
        let window = parsed.window(containing: date(at), timeZone: try #require(TimeZone(identifier: zone)))
        #expect(window.start == date(start))
        #expect(window.end == date(end))
    }

    @Test func aWindowIsCurrentExactlyWhereTheSameWindowWouldBeMade() throws {
        // The budget counters keep each window until it stops being current: that must agree
        // with making the window afresh, across midnights, weeks, months, DST and hours.
        var generator = SeededRandom(101)
        let periods: [BudgetPeriod] = [.day, .week, .month, .total, .rolling(days: 7)]
        let zones = try ["UTC", "Europe/Paris", "America/Los_Angeles", "Asia/Kolkata"].map { try #require(TimeZone(identifier: $0)) }
        let base = date("2026-01-01T00:00:00Z").timeIntervalSince1970
        for _ in 0..<4_000 {
            let period = periods.randomElement(using: &generator)!
            let zone = zones.randomElement(using: &generator)!
            let first = Date(timeIntervalSince1970: base + Double.random(in: 0..<(366 * 86_400), using: &generator))
            let second = first.addingTimeInterval(Double.random(in: -3 * 86_400...3 * 86_400, using: &generator))
            let window = period.window(containing: first, timeZone: zone)
            #expect(window.isCurrent(at: first))
            #expect(
                window.isCurrent(at: second) == (period.window(containing: second, timeZone: zone) == window), "\(period) \(zone.identifier) \(first) \(second)"
            )
        }
    }

    @Test func totalNeverResets() {
        let window = BudgetPeriod.total.window(containing: Date(), timeZone: .gmt)
        #expect(window.end == nil)
        #expect(window.start == Date(timeIntervalSince1970: 0))
    }

    @Test func periodsAndScopesRoundTripAndRefuseNonsense() {
        for text in ["day", "week", "month", "total", "rolling:30d"] {
            #expect(BudgetPeriod(text: text)?.text == text)
        }
        #expect(BudgetPeriod(text: "7d") == .rolling(days: 7))
        for bad in ["", "year", "rolling:0d", "rolling:x", "-3d"] { #expect(BudgetPeriod(text: bad) == nil) }
        #expect(BudgetScope(text: "team:platform") == BudgetScope(kind: .team, value: "platform"))
        #expect(BudgetScope(text: "org:acme")?.kind == .organization)
        for bad in ["team", "team:", "planet:earth", "environment:moon"] { #expect(BudgetScope(text: bad) == nil) }
    }
}

@Suite struct BudgetDecisionTests {
    /// $1 per million input tokens, $10 per million output tokens.
    func demand(input: Int64 = 1_000, output: Int64 = 1_000, canCap: Bool = true, priced: Bool = true) -> BudgetDemand {
        BudgetDemand(inputTokens: input, outputTokens: output, canCap: canCap) { n in
            priced ? NanoUSD(input * 1_000 + n * 10_000) : nil
        }
    }

    func standing(_ unit: BudgetUnit, limit: Int64, spent: Int64, reserved: Int64 = 0, hard: Bool = true, cap: Bool = false) -> BudgetStanding {
        let budget = Budget(
            id: "b", name: "b", scope: BudgetScope(kind: .team, value: "t"), period: .day, unit: unit, limit: limit,
            enforcement: hard ? .hard : .soft, whenExhausted: cap ? .cap : .reject
        )
        return BudgetStanding(budget: budget, window: BudgetWindow(start: Date(), end: nil, rolling: false), spent: spent, reserved: reserved)
    }

    @Test func admitsWhatFitsAndChargesTheEstimate() {
        // 1,000 input ($0.000001 each) + 1,000 output ($0.00001 each) = $0.011.
        let verdict = BudgetDecision.decide(demand(), standings: [standing(.usd, limit: 100_000_000, spent: 0)])
        #expect(verdict == .admit(outputCap: nil, charges: [11_000_000]))
    }

    @Test func refusesWhenSpentPlusReservedLeavesTooLittle() {
        let verdict = BudgetDecision.decide(demand(), standings: [standing(.usd, limit: 20_000_000, spent: 5_000_000, reserved: 5_000_000)])
        guard case .refuse(let refusal) = verdict else {
            Issue.record("expected a refusal")
            return
        }
        #expect(refusal.reason == .exhausted(needed: 11_000_000))
    }

    @Test func capsOutputToWhatTheBudgetAffords() {
        // Room $0.006: input $0.001 leaves $0.005 = 500 output tokens.
        let verdict = BudgetDecision.decide(demand(), standings: [standing(.usd, limit: 6_000_000, spent: 0, cap: true)])
        #expect(verdict == .admit(outputCap: 500, charges: [6_000_000]))
        let tokens = BudgetDecision.decide(demand(), standings: [standing(.tokens, limit: 1_300, spent: 100, cap: true)])
        #expect(tokens == .admit(outputCap: 200, charges: [1_200]))
    }

    @Test func refusesACapBelowTheSmallestUsefulAnswer() {
        let verdict = BudgetDecision.decide(demand(), standings: [standing(.tokens, limit: 1_010, spent: 0, cap: true)])
        guard case .refuse = verdict else {
            Issue.record("a 10-token answer should be refused")
            return
        }
        let noCap = BudgetDecision.decide(demand(canCap: false), standings: [standing(.tokens, limit: 1_500, spent: 0, cap: true)])
        guard case .refuse = noCap else {
            Issue.record("an API without max tokens cannot be capped")
            return
        }
    }

    @Test func softBudgetsReserveButNeverRefuse() {
        let verdict = BudgetDecision.decide(demand(), standings: [standing(.tokens, limit: 10, spent: 1_000_000, hard: false)])
        #expect(verdict == .admit(outputCap: nil, charges: [2_000]))
    }

    @Test func hardUSDBudgetRefusesAnUnpricedModelButTokenBudgetsDoNot() {
        let verdict = BudgetDecision.decide(demand(priced: false), standings: [standing(.usd, limit: 1_000_000_000, spent: 0)])
        guard case .refuse(let refusal) = verdict, refusal.reason == .unpriced else {
            Issue.record("expected unpriced")
            return
        }
        let tokens = BudgetDecision.decide(demand(priced: false), standings: [standing(.tokens, limit: 1_000_000, spent: 0)])
        #expect(tokens == .admit(outputCap: nil, charges: [2_000]))
    }

    @Test func theTightestOfSeveralBudgetsDecidesAndAllAreCharged() {
        let verdict = BudgetDecision.decide(
            demand(),
            standings: [
                standing(.tokens, limit: 1_000_000, spent: 0, cap: true),
                standing(.tokens, limit: 1_400, spent: 0, cap: true),
                standing(.usd, limit: 1_000_000_000, spent: 0),
            ])
        #expect(verdict == .admit(outputCap: 400, charges: [1_400, 1_400, 5_000_000]))
    }

    /// Property: whatever the standings, an admitted request's charges never take a hard
    /// budget past its limit.
    @Test func admittedChargesNeverPassAHardLimit() {
        var generator = SeededRandom(102)
        for _ in 0..<5_000 {
            let standings = (0..<Int.random(in: 1...3, using: &generator)).map { _ in
                standing(
                    Bool.random(using: &generator) ? .usd : .tokens, limit: Int64.random(in: 1...50_000_000, using: &generator),
                    spent: Int64.random(in: 0...50_000_000, using: &generator), reserved: Int64.random(in: 0...5_000_000, using: &generator),
                    hard: Int.random(in: 0..<4, using: &generator) > 0, cap: Bool.random(using: &generator)
                )
            }
            let d = demand(input: Int64.random(in: 0...5_000, using: &generator), output: Int64.random(in: 0...8_000, using: &generator))
            guard case .admit(let cap, let charges) = BudgetDecision.decide(d, standings: standings) else { continue }
            for (index, standing) in standings.enumerated() where standing.budget.enforcement == .hard {
                #expect(standing.spent + standing.reserved + charges[index] <= standing.budget.limit)
            }
            if let cap { #expect(cap <= d.outputTokens && cap >= min(BudgetDecision.smallestCap, d.outputTokens)) }
        }
    }
}

@Suite struct BudgetCounterTests {
    let start = Date(timeIntervalSince1970: 1_795_392_000)  // 2026-11-17T00:00:00Z, a Tuesday

    func budget(limit: Int64 = 1_000, period: BudgetPeriod = .day, unit: BudgetUnit = .tokens) -> Budget {
        Budget(id: "bud_1", name: "daily", scope: BudgetScope(kind: .team, value: "platform"), period: period, unit: unit, limit: limit)
    }

    func record(_ id: String, at date: Date, tokens: Int64, team: String = "platform") -> RequestRecord {
        RequestRecord(
            id: id, startedAt: date, api: "chat_completions", stream: false, status: .completed,
            attribution: Attribution(organization: "default", team: team), requestedModel: "m",
            usage: Usage(input: tokens / 2, output: tokens - tokens / 2), cost: NanoUSD(tokens * 10)
        )
    }

    func demand(_ tokens: Int64) -> BudgetDemand {
        BudgetDemand(inputTokens: tokens, outputTokens: 0, canCap: false) { _ in NanoUSD(tokens * 10) }
    }

    @Test func countsTheLedgerThenHoldsReservationsUntilSettled() async throws {
        let ledger = try SQLiteLedger(inMemory: ())
        try await ledger.insert([
            record("old", at: start.addingTimeInterval(-3_600), tokens: 500),  // the day before: not counted
            record("a", at: start.addingTimeInterval(60), tokens: 300),
            record("other", at: start.addingTimeInterval(60), tokens: 900, team: "research"),
        ])
        let counters = InProcessBudgetCounters(store: ledger)
        let now = start.addingTimeInterval(7_200)
        #expect(try await counters.standings(of: [budget()], at: now).first?.spent == 300)
        #expect(try await counters.reserve(requestID: "r1", demand: demand(600), budgets: [budget()], at: now) == .admit(outputCap: nil, charges: [600]))
        // 300 spent + 600 reserved: another 200 does not fit until r1 settles.
        guard case .refuse = try await counters.reserve(requestID: "r2", demand: demand(200), budgets: [budget()], at: now) else {
            Issue.record("expected a refusal while r1 is in flight")
            return
        }
        let after = await counters.settle(requestID: "r1", usage: Usage(input: 100, output: 50), cost: nil, at: now)
        #expect(after.first?.spent == 450 && after.first?.reserved == 0)
        #expect(try await counters.reserve(requestID: "r2", demand: demand(200), budgets: [budget()], at: now) == .admit(outputCap: nil, charges: [200]))
        // Settling twice (or an unknown id) changes nothing.
        _ = await counters.settle(requestID: "r1", usage: Usage(input: 999), cost: nil, at: now)
        #expect(try await counters.standings(of: [budget()], at: now).first?.spent == 450)
    }

    @Test func aNewPeriodStartsFromZeroAndTheOldOneIsForgotten() async throws {
        let ledger = try SQLiteLedger(inMemory: ())
        let counters = InProcessBudgetCounters(store: ledger)
        let day1 = start.addingTimeInterval(23 * 3_600)
        _ = try await counters.reserve(requestID: "r1", demand: demand(900), budgets: [budget()], at: day1)
        _ = await counters.settle(requestID: "r1", usage: Usage(input: 900), cost: nil, at: day1)
        guard case .refuse = try await counters.reserve(requestID: "r2", demand: demand(200), budgets: [budget()], at: day1) else {
            Issue.record("day 1 is spent")
            return
        }
        let day2 = start.addingTimeInterval(24 * 3_600 + 1)
        #expect(try await counters.reserve(requestID: "r3", demand: demand(200), budgets: [budget()], at: day2) == .admit(outputCap: nil, charges: [200]))
        let standing = try #require(try await counters.standings(of: [budget()], at: day2).first)
        #expect(standing.spent == 0 && standing.reserved == 200)
        #expect(standing.window.start == start.addingTimeInterval(86_400))
        #expect(counters.state.withLock { $0.counters.count } == 1)
    }

    @Test func aRollingWindowDropsHoursAsTheyAge() async throws {
        let ledger = try SQLiteLedger(inMemory: ())
        try await ledger.insert([record("a", at: start, tokens: 400), record("b", at: start.addingTimeInterval(2 * 86_400), tokens: 300)])
        let counters = InProcessBudgetCounters(store: ledger)
        let rolling = budget(period: .rolling(days: 3))
        #expect(try await counters.standings(of: [rolling], at: start.addingTimeInterval(2 * 86_400 + 60)).first?.spent == 700)
        // Three days and an hour after the first request, it has left the window.
        #expect(try await counters.standings(of: [rolling], at: start.addingTimeInterval(3 * 86_400 + 3_600)).first?.spent == 300)
    }

    @Test func usdBudgetsCountCost() async throws {
        let ledger = try SQLiteLedger(inMemory: ())
        try await ledger.insert([record("a", at: start, tokens: 100)])
        let counters = InProcessBudgetCounters(store: ledger)
        #expect(try await counters.standings(of: [budget(unit: .usd)], at: start).first?.spent == 1_000)
    }
}

@Suite struct BudgetGuardAlertTests {
    final class Sink: BudgetAlertSink {
        let alerts = Mutex<[BudgetAlert]>([])
        func deliver(_ alert: BudgetAlert) { alerts.withLock { $0.append(alert) } }
    }

    @Test func eachThresholdAlertsOncePerWindowEvenAcrossRestarts() async throws {
        let ledger = try SQLiteLedger(inMemory: ())
        let clock = Mutex(Date(timeIntervalSince1970: 1_795_392_000 + 3_600))
        var budget = Budget(
            id: "bud_1", name: "daily", scope: BudgetScope(kind: .team, value: "platform"), period: .day, unit: .tokens, limit: 1_000, enforcement: .soft)
        budget.alertThresholds = [50, 80, 100]
        try await ledger.save(budget)
        let sink = Sink()
        func makeGuard() async throws -> BudgetGuard {
            let guardian = BudgetGuard(
                store: ledger, counters: InProcessBudgetCounters(store: ledger),
                sink: sink, now: { clock.withLock { $0 } }
            )
            try await guardian.reload()
            return guardian
        }
        var guardian = try await makeGuard()
        func spend(_ id: String, _ tokens: Int64) async throws {
            let record = RequestRecord(
                id: id, startedAt: clock.withLock { $0 }, api: "chat_completions", stream: false, status: .completed,
                attribution: Attribution(organization: "default", team: "platform"), requestedModel: "gpt-4o",
                usage: Usage(input: tokens), inputEstimate: tokens
            )
            let summary = try RequestSummary.inspect(Array(#"{"model":"gpt-4o","max_tokens":1}"#.utf8), api: .chatCompletions)
            _ = try await guardian.admit(record, budgets: guardian.covering(record.attribution), summary: summary, api: .chatCompletions)
            try await ledger.insert([record])
            await guardian.settle(record)
        }
        try await spend("r1", 400)
        #expect(sink.alerts.withLock { $0.isEmpty })
        try await spend("r2", 450)  // 85%: 50 and 80 at once
        try await spend("r3", 10)
        #expect(sink.alerts.withLock { $0.map(\.threshold) } == [50, 80])
        guardian = try await makeGuard()  // a restart: the store remembers what was sent
        try await spend("r4", 10)
        try await spend("r5", 200)  // 106%
        #expect(sink.alerts.withLock { $0.map(\.threshold) } == [50, 80, 100])
        clock.withLock { $0 = $0.addingTimeInterval(86_400) }  // the next day
        try await spend("r6", 600)
        #expect(sink.alerts.withLock { $0.map(\.threshold) } == [50, 80, 100, 50])
    }
}

@Suite struct MaxTokensCapTests {
    @Test(arguments: [
        (APIKind.chatCompletions, #"{"model":"m","max_tokens":4000,"messages":[]}"#, #"{"model":"m","max_tokens":300,"messages":[]}"#),
        (.chatCompletions, #"{"model":"m","messages":[]}"#, #"{"max_completion_tokens":300,"model":"m","messages":[]}"#),
        (.chatCompletions, #"{"max_completion_tokens": 9000 ,"max_tokens":null}"#, #"{"max_completion_tokens": 300 ,"max_tokens":null}"#),
        (.chatCompletions, #"{}"#, #"{"max_completion_tokens":300}"#),
        (.responses, #"{"model":"m","input":"x"}"#, #"{"max_output_tokens":300,"model":"m","input":"x"}"#),
        (.messages, #"{"model":"m","max_tokens":1024,"metadata":{"max_tokens":5}}"#, #"{"model":"m","max_tokens":300,"metadata":{"max_tokens":5}}"#),
    ])
    func capsTheRightField(api: APIKind, body: String, expected: String) {
        #expect(String(decoding: RequestRewrite.cappingMaxTokens(in: Array(body.utf8), api: api, to: 300), as: UTF8.self) == expected)
    }

    /// Property: for any body the summary accepts, capping leaves valid JSON whose
    /// maximum output tokens read back as the cap, and every other member unchanged.
    @Test func cappedBodiesStayValidAndReadBackTheCap() throws {
        var generator = SeededRandom(103)
        let extras = [#""messages":[{"role":"user","content":"max_tokens: 5"}]"#, #""stream":true"#, #""metadata":{"max_tokens":"7"}"#, #""temperature":0.2"#]
        for _ in 0..<2_000 {
            var members = extras.filter { _ in Bool.random(using: &generator) }
            members.append(#""model":"gpt-4o""#)
            let key = ["max_tokens", "max_completion_tokens", "max_output_tokens", nil].randomElement(using: &generator)!
            if let key { members.append("\"\(key)\":\(Int.random(in: 0...100_000, using: &generator))") }
            members.shuffle(using: &generator)
            let body = Array(("{" + members.joined(separator: [",", " , ", ",\n"].randomElement(using: &generator)!) + "}").utf8)
            let api = [APIKind.chatCompletions, .responses, .messages].randomElement(using: &generator)!
            let cap = Int64.random(in: 16...4_000, using: &generator)
            let capped = RequestRewrite.cappingMaxTokens(in: body, api: api, to: cap)
            let summary = try RequestSummary.inspect(capped, api: api)
            #expect(summary.maxTokens == cap)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(capped)) as? [String: Any])
            let original = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
            for (name, value) in original where !RequestRewrite.maxTokenKeys.contains(name) {
                #expect((object[name] as? NSObject) == (value as? NSObject))
            }
        }
    }
}

@Suite struct BudgetChangesTests {
    @Test func readsTheAPIShapeAndNamesEveryProblem() throws {
        let changes = try BudgetChanges(json: ["scope": "team:platform", "period": "month", "limit_usd": "500", "alert_thresholds": [50, 90]])
        let budget = try changes.apply(to: nil, id: "bud_x", now: Date())
        #expect(budget.limit == 500_000_000_000 && budget.unit == .usd && budget.name == "team-platform-month")
        #expect(budget.alertThresholds == [50, 90] && budget.enforcement == .hard && budget.whenExhausted == .reject)
        #expect(throws: BudgetProblems.self) { try BudgetChanges(json: ["limit_usd": true, "colour": "red"]) }
        do {
            _ = try BudgetChanges(json: ["scope": "planet:mars", "period": "fortnight", "limit_usd": "1", "limit_tokens": 5, "time_zone": "Mars/Olympus"])
                .apply(to: nil, id: "b", now: Date())
            Issue.record("expected problems")
        } catch {
            #expect(error.problems.contains { $0.contains("planet:mars") })
            #expect(error.problems.contains { $0.contains("fortnight") })
            #expect(error.problems.contains { $0.contains("not both") })
        }
        do {
            _ = try BudgetChanges(json: ["scope": "team:x", "limit_usd": "1", "time_zone": "Mars/Olympus"]).apply(to: nil, id: "b", now: Date())
            Issue.record("expected a time zone problem")
        } catch {
            #expect(error.problems.contains { $0.contains("Mars/Olympus") })
        }
    }

    @Test func changesKeepWhatTheyDoNotName() throws {
        let original = try BudgetChanges(json: ["name": "p", "scope": "team:platform", "limit_tokens": 1_000]).apply(to: nil, id: "b", now: Date())
        var lower = BudgetChanges()
        lower.limitTokens = 500
        let changed = try lower.apply(to: original, id: "b", now: Date())
        #expect(changed.limit == 500 && changed.scope == original.scope && changed.name == "p" && changed.createdAt == original.createdAt)
        var switchUnit = BudgetChanges()
        switchUnit.unit = "usd"
        #expect(throws: BudgetProblems.self) { try switchUnit.apply(to: original, id: "b", now: Date()) }
    }

    @Test func downgradeIsSetKeptAndRemoved() throws {
        let made = try BudgetChanges(json: ["scope": "team:t", "limit_usd": "1", "downgrade_to": "gpt-4o-mini", "downgrade_at": 70]).apply(
            to: nil, id: "b", now: Date())
        #expect(made.downgradeTo == "gpt-4o-mini" && made.downgradeAtPercent == 70)
        let kept = try BudgetChanges(json: ["limit_usd": "2"]).apply(to: made, id: "b", now: Date())
        #expect(kept.downgradeTo == "gpt-4o-mini" && kept.downgradeAtPercent == 70)
        let removed = try BudgetChanges(json: ["downgrade_to": NSNull()]).apply(to: made, id: "b", now: Date())
        #expect(removed.downgradeTo == nil)
        #expect(throws: BudgetProblems.self) {
            try BudgetChanges(json: ["scope": "team:t", "limit_usd": "1", "downgrade_at": 0]).apply(to: nil, id: "b", now: Date())
        }
        #expect(throws: BudgetProblems.self) { try BudgetChanges(json: ["downgrade_at": "most"]) }
    }
}
