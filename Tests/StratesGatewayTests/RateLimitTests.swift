import Foundation
import StratesTestSupport
import Testing

@testable import StratesCore
@testable import StratesGateway
@testable import StratesLedger
@testable import StratesLedgerSQLite
@testable import StratesServer
@testable import StratesWire

@Suite struct RateLimitBookTests {
    func limit(_ id: String, rpm: Int64? = nil, tpm: Int64? = nil, concurrent: Int64? = nil) -> RateLimit {
        RateLimit(
            id: id, name: id, scope: BudgetScope(kind: .team, value: "t"), requestsPerMinute: rpm, tokensPerMinute: tpm, maxConcurrentRequests: concurrent)
    }

    func admitted(_ verdict: RateVerdict) -> Bool {
        if case .admit = verdict { return true }
        return false
    }

    func refusal(_ verdict: RateVerdict) -> RateRefusal? {
        if case .refuse(let refusal) = verdict { return refusal }
        return nil
    }

    @Test func requestsPerMinuteAllowABurstThenRefillAtTheLimitsPace() throws {
        var book = RateLimitBook()
        let rpm = limit("rpm", rpm: 60)
        for i in 0..<60 { #expect(admitted(book.admit(requestID: "r\(i)", tokens: 0, limits: [rpm], at: 0))) }
        let refused = try #require(refusal(book.admit(requestID: "x", tokens: 0, limits: [rpm], at: 0)))
        #expect(refused.reason == .requests)
        #expect(abs((refused.retryAfter ?? 0) - 1) < 1e-9)
        #expect(refused.requests?.remaining == 0)
        // One request a second comes back.
        #expect(!admitted(book.admit(requestID: "y", tokens: 0, limits: [rpm], at: 0.5)))
        #expect(admitted(book.admit(requestID: "z", tokens: 0, limits: [rpm], at: 1.0)))
        #expect(!admitted(book.admit(requestID: "w", tokens: 0, limits: [rpm], at: 1.0)))
    }

    @Test func tokensAreReservedThenCorrectedToActualUsage() throws {
        var book = RateLimitBook()
        let tpm = limit("tpm", tpm: 1_000)
        #expect(admitted(book.admit(requestID: "a", tokens: 800, limits: [tpm], at: 0)))
        let refused = try #require(refusal(book.admit(requestID: "b", tokens: 300, limits: [tpm], at: 0)))
        #expect(refused.reason == .tokens(needed: 300))
        #expect(abs((refused.retryAfter ?? 0) - 6) < 1e-9)  // 100 missing at 1,000 a minute
        book.release(requestID: "a", actualTokens: 150, refundRequest: false)
        guard case .admit(_, let tokens) = book.admit(requestID: "b", tokens: 300, limits: [tpm], at: 0) else {
            Issue.record("refused after the estimate was corrected")
            return
        }
        #expect(tokens?.remaining == 550)
        // A request larger than a whole minute's allowance never fits: no point waiting.
        let huge = try #require(refusal(book.admit(requestID: "c", tokens: 1_001, limits: [tpm], at: 100)))
        #expect(huge.reason == .tooLarge(needed: 1_001))
        #expect(huge.retryAfter == nil)
    }

    @Test func usingMoreThanEstimatedLeavesADebt() {
        var book = RateLimitBook()
        let tpm = limit("tpm", tpm: 600)
        #expect(admitted(book.admit(requestID: "a", tokens: 100, limits: [tpm], at: 0)))
        book.release(requestID: "a", actualTokens: 700, refundRequest: false)
        // 600 - 700 = -100: ten seconds of refill before anything fits again.
        #expect(!admitted(book.admit(requestID: "b", tokens: 1, limits: [tpm], at: 10)))
        #expect(admitted(book.admit(requestID: "c", tokens: 1, limits: [tpm], at: 10.2)))
    }

    @Test func concurrencyIsHeldUntilRelease() throws {
        var book = RateLimitBook()
        let two = limit("two", concurrent: 2)
        #expect(admitted(book.admit(requestID: "a", tokens: 0, limits: [two], at: 0)))
        #expect(admitted(book.admit(requestID: "b", tokens: 0, limits: [two], at: 0)))
        #expect(try #require(refusal(book.admit(requestID: "c", tokens: 0, limits: [two], at: 5))).reason == .concurrency)
        book.release(requestID: "a", actualTokens: 0, refundRequest: false)
        book.release(requestID: "a", actualTokens: 0, refundRequest: false)  // twice: no double release
        #expect(admitted(book.admit(requestID: "c", tokens: 0, limits: [two], at: 5)))
        #expect(!admitted(book.admit(requestID: "d", tokens: 0, limits: [two], at: 5)))
        #expect(book.requestsHeld == 2)
    }

    @Test func aRefusalUnderOneLimitTakesNothingFromTheOthers() {
        var book = RateLimitBook()
        let roomy = limit("roomy", rpm: 10, concurrent: 10)
        let tight = limit("tight", rpm: 1)
        #expect(admitted(book.admit(requestID: "a", tokens: 0, limits: [roomy, tight], at: 0)))
        for i in 0..<5 { #expect(!admitted(book.admit(requestID: "r\(i)", tokens: 0, limits: [roomy, tight], at: 0))) }
        // Only the admitted request was taken from 'roomy'.
        guard case .admit(let requests, _) = book.admit(requestID: "b", tokens: 0, limits: [roomy], at: 0) else {
            Issue.record("roomy refused")
            return
        }
        #expect(requests?.remaining == 8)
    }

    @Test func aRequestRefusedLaterGetsItsRequestBack() {
        var book = RateLimitBook()
        let one = limit("one", rpm: 1)
        #expect(admitted(book.admit(requestID: "a", tokens: 0, limits: [one], at: 0)))
        book.release(requestID: "a", actualTokens: 0, refundRequest: true)
        #expect(admitted(book.admit(requestID: "b", tokens: 0, limits: [one], at: 0)))
    }

    @Test func aChangedLimitKeepsWhatWasUsed() {
        var book = RateLimitBook()
        #expect(admitted(book.admit(requestID: "a", tokens: 0, limits: [limit("l", rpm: 2)], at: 0)))
        #expect(admitted(book.admit(requestID: "b", tokens: 0, limits: [limit("l", rpm: 2)], at: 0)))
        // Raised to 5: three more fit at once, not five.
        for i in 0..<3 { #expect(admitted(book.admit(requestID: "c\(i)", tokens: 0, limits: [limit("l", rpm: 5)], at: 0))) }
        #expect(!admitted(book.admit(requestID: "d", tokens: 0, limits: [limit("l", rpm: 5)], at: 0)))
    }

    /// Property: under random arrivals, releases and clock steps, the requests admitted in
    /// any minute never pass the limit plus what refilled, and in-flight never passes the cap.
    @Test func admissionsNeverPassTheLimits() {
        var random = SeededRandom(110)
        for _ in 0..<200 {
            var book = RateLimitBook()
            let rpm = Int64.random(in: 1...30, using: &random)
            let cap = Int64.random(in: 1...5, using: &random)
            let rule = limit("p", rpm: rpm, concurrent: cap)
            var time = 0.0
            var inFlight: [String] = []
            var admittedTimes: [Double] = []
            for step in 0..<300 {
                time += Double.random(in: 0...0.5, using: &random)
                if !inFlight.isEmpty, Bool.random(using: &random) {
                    book.release(requestID: inFlight.removeFirst(), actualTokens: 0, refundRequest: false)
                }
                if admitted(book.admit(requestID: "r\(step)", tokens: 0, limits: [rule], at: time)) {
                    inFlight.append("r\(step)")
                    admittedTimes.append(time)
                }
                #expect(Int64(inFlight.count) <= cap)
            }
            // A token bucket admits at most capacity + rate × span in any span.
            for (index, start) in admittedTimes.enumerated() {
                let within = admittedTimes[index...].prefix { $0 - start <= 60 }.count
                #expect(Double(within) <= Double(rpm) * 2 + 1e-9)
            }
        }
    }
}

@Suite struct RateHeaderTests {
    @Test(arguments: [
        (0.0, "0ms"), (0.017, "17ms"), (1.0, "1s"), (1.5, "1.5s"), (60.0, "1m0s"), (90.25, "1m30.25s"), (360.0, "6m0s"),
        (3_723.0, "1h2m3s"),
    ])
    func goDurations(seconds: Double, text: String) {
        #expect(RateHeaders.duration(seconds) == text)
    }

    @Test func eachAPIGetsItsOwnFamily() {
        let admission = RateAdmission(
            requests: RateAllowance(limit: 60, remaining: 59, resetSeconds: 1), tokens: RateAllowance(limit: 1_000, remaining: 900, resetSeconds: 6))
        let now = Date(timeIntervalSince1970: 1_795_000_000)
        let openAI = Dictionary(uniqueKeysWithValues: RateHeaders.render(admission, api: .chatCompletions, now: now).map { ($0.name, $0.value) })
        #expect(
            openAI == [
                "x-ratelimit-limit-requests": "60", "x-ratelimit-remaining-requests": "59", "x-ratelimit-reset-requests": "1s",
                "x-ratelimit-limit-tokens": "1000", "x-ratelimit-remaining-tokens": "900", "x-ratelimit-reset-tokens": "6s",
            ])
        let anthropic = Dictionary(uniqueKeysWithValues: RateHeaders.render(admission, api: .messages, now: now).map { ($0.name, $0.value) })
        #expect(anthropic["anthropic-ratelimit-requests-remaining"] == "59")
        #expect(anthropic["anthropic-ratelimit-tokens-reset"] == BudgetText.timestamp(now.addingTimeInterval(6)))
        #expect(anthropic.keys.allSatisfy { $0.hasPrefix("anthropic-ratelimit-") })
    }
}

@Suite struct AccessPolicyTests {
    let price = ModelPrice(
        provider: "openai", model: "gpt-4o", effectiveFrom: Date(timeIntervalSince1970: 0),
        input: TokenRate(nanoPerMillion: 2_500_000_000), output: TokenRate(nanoPerMillion: 10_000_000_000)
    )

    func request(_ model: String, served: String? = nil, provider: String = "openai", price: ModelPrice? = nil, input: Int64 = 100) -> AccessPolicy.Request {
        AccessPolicy.Request(requested: model, served: served ?? model, provider: provider, price: price, inputTokens: input)
    }

    func policy(allow: [String] = [], deny: [String] = [], maxInput: Int64? = nil, maxOutput: Int64? = nil, context: Int64? = nil) -> AccessPolicy {
        AccessPolicy(
            id: "p", name: "p", scope: BudgetScope(kind: .team, value: "t"), allowModels: allow, denyModels: deny,
            maxInputPricePerMillion: maxInput, maxOutputPricePerMillion: maxOutput, maxContextTokens: context)
    }

    @Test func allowAndDenyMatchEveryNameOfTheModel() {
        let haiku = policy(allow: ["claude-haiku-*", "openai/gpt-4o-mini"])
        #expect(haiku.refusal(of: request("claude-haiku-4-5", provider: "anthropic")) == nil)
        #expect(haiku.refusal(of: request("gpt-4o-mini")) == nil)  // by provider/model
        #expect(haiku.refusal(of: request("fast", served: "gpt-4o-mini")) == nil)  // an alias, by what serves it
        #expect(haiku.refusal(of: request("gpt-4o-mini", provider: "azure")) != nil)  // another provider's
        #expect(haiku.refusal(of: request("claude-sonnet-4-5", provider: "anthropic"))?.contains("not in its allow list") == true)
        let noOpus = policy(deny: ["*opus*"])
        #expect(noOpus.refusal(of: request("claude-opus-4-1"))?.contains("deny list ('*opus*')") == true)
        #expect(noOpus.refusal(of: request("smart", served: "claude-opus-4-1")) != nil)
        #expect(noOpus.refusal(of: request("claude-sonnet-4-5")) == nil)
        // Deny wins over allow.
        #expect(policy(allow: ["*"], deny: ["gpt-4o"]).refusal(of: request("gpt-4o")) != nil)
    }

    @Test func ceilings() {
        #expect(policy(maxInput: 2_500_000_000).refusal(of: request("gpt-4o", price: price)) == nil)
        #expect(policy(maxInput: 2_499_999_999).refusal(of: request("gpt-4o", price: price))?.contains("per million input tokens") == true)
        #expect(policy(maxOutput: 5_000_000_000).refusal(of: request("gpt-4o", price: price))?.contains("$10.000000 per million output tokens") == true)
        #expect(policy(maxOutput: 5_000_000_000).refusal(of: request("mystery"))?.contains("no known price") == true)
        #expect(policy(context: 100).refusal(of: request("gpt-4o", input: 100)) == nil)
        #expect(policy(context: 100).refusal(of: request("gpt-4o", input: 101))?.contains("maximum context of 100 tokens") == true)
    }

    @Test(arguments: [
        ("*", "anything", true), ("claude-*", "claude-opus-4-1", true), ("claude-*", "gpt-4o", false),
        ("gpt-4o", "gpt-4o-mini", false), ("gpt-4o*", "gpt-4o-mini", true), ("?pt-4o", "gpt-4o", true),
        ("*opus*", "claude-opus-4-1", true), ("a*b*c", "aXbYc", true), ("a*b*c", "aXbY", false), ("", "", true),
    ])
    func globs(pattern: String, text: String, matches: Bool) {
        #expect(Glob.matches(pattern, text) == matches)
    }
}

@Suite struct RuleFieldTests {
    @Test func rateLimitsFromJSONKeepClearAndCheck() throws {
        var fields = RuleFields(["scope": "member:ana", "requests_per_minute": 60, "tokens_per_minute": "1000"], known: RateLimit.fields)
        let made = try RateLimit.make(from: &fields, current: nil, id: "limit_1", now: Date())
        #expect(made.name == "member-ana-limit" && made.requestsPerMinute == 60 && made.tokensPerMinute == 1_000)
        var change = RuleFields(["tokens_per_minute": NSNull(), "max_concurrent_requests": 3], known: RateLimit.fields)
        let changed = try RateLimit.make(from: &change, current: made, id: made.id, now: Date())
        #expect(changed.requestsPerMinute == 60 && changed.tokensPerMinute == nil && changed.maxConcurrentRequests == 3)
        #expect(changed.scope == made.scope && changed.createdAt == made.createdAt)
        var bad = RuleFields(["scope": "team:x", "requests_per_minute": true, "colour": 1, "name": ""], known: RateLimit.fields)
        #expect(throws: RuleProblems.self) { try RateLimit.make(from: &bad, current: nil, id: "x", now: Date()) }
        do {
            var again = RuleFields(["scope": "team:x", "requests_per_minute": true, "colour": 1, "name": ""], known: RateLimit.fields)
            _ = try RateLimit.make(from: &again, current: nil, id: "x", now: Date())
        } catch {
            #expect(error.problems.contains { $0.contains("unknown field 'colour'") })
            #expect(error.problems.contains { $0.contains("'requests_per_minute' must be a whole number") })
            #expect(error.problems.contains { $0.contains("name ''") })
        }
    }

    @Test func policiesReadListsAndDollars() throws {
        var fields = RuleFields(["scope": "team:t", "allow_models": "claude-*, gpt-4o-mini", "max_input_usd_per_mtok": 0.5], known: AccessPolicy.fields)
        let made = try AccessPolicy.make(from: &fields, current: nil, id: "policy_1", now: Date())
        #expect(made.allowModels == ["claude-*", "gpt-4o-mini"] && made.maxInputPricePerMillion == 500_000_000)
        let decoded = try JSONSerialization.jsonObject(with: Data(APIJSON.text(made).utf8)) as? [String: Any]
        #expect(decoded?["max_input_usd_per_mtok"] as? String == "0.500000")
        #expect(decoded?["allow_models"] as? [String] == ["claude-*", "gpt-4o-mini"])
    }

    /// Fuzz: any JSON object of known and unknown fields with values of any type either
    /// makes a valid rule or throws problems; it never crashes.
    @Test func arbitraryFieldsNeverCrash() {
        var random = SeededRandom(111)
        let values: [Any] = [NSNull(), true, 0, -1, 7, 1.5, "", "x", "team:a", "12", "none", [1], ["a"], ["k": 1], "1e3", "-2"]
        let keys = Array(RateLimit.fields.union(AccessPolicy.fields)) + ["other"]
        for _ in 0..<3_000 {
            var object: [String: Any] = [:]
            for _ in 0..<Int.random(in: 0...5, using: &random) {
                object[keys.randomElement(using: &random)!] = values.randomElement(using: &random)!
            }
            var limitFields = RuleFields(object, known: RateLimit.fields)
            if let limit = try? RateLimit.make(from: &limitFields, current: nil, id: "l", now: Date()) {
                #expect([limit.requestsPerMinute, limit.tokensPerMinute, limit.maxConcurrentRequests].contains { ($0 ?? 0) >= 1 })
            }
            var policyFields = RuleFields(object, known: AccessPolicy.fields)
            _ = try? AccessPolicy.make(from: &policyFields, current: nil, id: "p", now: Date())
        }
    }
}

@Suite struct RuleStoreTests {
    @Test func rulesRoundTripByKindWithUniqueNames() async throws {
        let ledger = try SQLiteLedger(inMemory: ())
        let limit = RateLimit(
            id: "limit_1", name: "pace", scope: BudgetScope(kind: .member, value: "ana"), requestsPerMinute: 60,
            createdAt: Date(timeIntervalSince1970: 1_795_000_000), updatedAt: Date(timeIntervalSince1970: 1_795_000_000))
        try await ledger.save(rule: limit)
        let policy = AccessPolicy(
            id: "policy_1", name: "pace", scope: BudgetScope(kind: .team, value: "t"), denyModels: ["*opus*"],
            createdAt: Date(timeIntervalSince1970: 1_795_000_000), updatedAt: Date(timeIntervalSince1970: 1_795_000_000))
        try await ledger.save(rule: policy)  // the same name, another kind
        #expect(try await ledger.rules(RateLimit.self) == [limit])
        #expect(try await ledger.rules(AccessPolicy.self) == [policy])
        var clash = limit
        clash.id = "limit_2"
        await #expect(throws: NameTaken.self) { try await ledger.save(rule: clash) }
        var changed = limit
        changed.tokensPerMinute = 1_000
        try await ledger.save(rule: changed)
        #expect(try await ledger.rules(RateLimit.self) == [changed])
        #expect(try await ledger.deleteRule(RateLimit.self, "pace"))
        #expect(try await ledger.rules(RateLimit.self).isEmpty)
        #expect(try await ledger.rules(AccessPolicy.self).count == 1)
        #expect(try await !ledger.deleteRule(RateLimit.self, "pace"))
    }
}
