import Foundation

/// Limits on how fast one scope may call: requests per minute, tokens per minute, and
/// requests in flight at once. Each per-minute limit is a token bucket, as the providers
/// run theirs: it holds a minute's allowance and refills continuously, so a burst of a
/// full minute's requests passes and then the pace is the limit's.
public struct RateLimit: ControlRule {
    public static let kind = "limit"
    public static let noun = "rate limit"
    public static let collection = "limits"
    public static let fields: Set<String> = ["name", "scope", "requests_per_minute", "tokens_per_minute", "max_concurrent_requests"]

    public var id: String
    public var name: String
    public var scope: BudgetScope
    public var requestsPerMinute: Int64?
    /// Input (estimated, then actual) plus output tokens.
    public var tokensPerMinute: Int64?
    public var maxConcurrentRequests: Int64?
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: String, name: String, scope: BudgetScope, requestsPerMinute: Int64? = nil, tokensPerMinute: Int64? = nil,
        maxConcurrentRequests: Int64? = nil, createdAt: Date = Date(), updatedAt: Date = Date()
    ) {
        self.id = id
        self.name = name
        self.scope = scope
        self.requestsPerMinute = requestsPerMinute
        self.tokensPerMinute = tokensPerMinute
        self.maxConcurrentRequests = maxConcurrentRequests
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    public static func make(from fields: inout RuleFields, current: RateLimit?, id: String, now: Date) throws(RuleProblems) -> RateLimit {
        let scope = fields.scope(current: current?.scope)
        let name = fields.text("name").applied(to: current?.name) ?? scope.map { "\($0.kind.rawValue)-\($0.value)-limit" } ?? ""
        let rpm = fields.wholeNumber("requests_per_minute").applied(to: current?.requestsPerMinute)
        let tpm = fields.wholeNumber("tokens_per_minute").applied(to: current?.tokensPerMinute)
        let concurrent = fields.wholeNumber("max_concurrent_requests").applied(to: current?.maxConcurrentRequests)
        if let problem = RuleName.problem(name) { fields.problem(problem) }
        if rpm == nil && tpm == nil && concurrent == nil {
            fields.problem("set at least one of requests_per_minute, tokens_per_minute, max_concurrent_requests")
        }
        try fields.check()
        guard let scope else { throw RuleProblems(["scope is required"]) }
        return RateLimit(
            id: id, name: name, scope: scope, requestsPerMinute: rpm, tokensPerMinute: tpm, maxConcurrentRequests: concurrent,
            createdAt: current?.createdAt ?? now, updatedAt: now
        )
    }

    public var summary: String {
        var parts: [String] = []
        if let requestsPerMinute { parts.append("\(requestsPerMinute) requests/min") }
        if let tokensPerMinute { parts.append("\(tokensPerMinute) tokens/min") }
        if let maxConcurrentRequests { parts.append("\(maxConcurrentRequests) concurrent") }
        return "\(scope.text): " + parts.joined(separator: ", ")
    }
}

/// A bucket holding up to a minute's allowance, refilled continuously.
public struct RateBucket: Sendable, Equatable {
    public var capacity: Double
    public var level: Double
    /// Seconds on a monotonic clock.
    public var updated: Double

    public init(perMinute: Int64, at time: Double) {
        capacity = Double(perMinute)
        level = capacity
        updated = time
    }

    /// Refills for the time passed; a changed limit takes its new size, keeping what was used.
    public mutating func refill(perMinute: Int64, at time: Double) {
        let used = capacity - level
        capacity = Double(perMinute)
        level = min(capacity, capacity - used)
        if time > updated { level = min(capacity, level + (time - updated) * capacity / 60) }
        updated = max(updated, time)
    }

    /// Seconds until `amount` is in the bucket.
    public func wait(for amount: Double) -> Double {
        amount <= level ? 0 : (amount - level) * 60 / capacity
    }

    /// Seconds until the bucket is full again.
    public var untilFull: Double { (capacity - level) * 60 / capacity }

    /// What is left, as the response headers tell it.
    public var allowance: RateAllowance {
        RateAllowance(limit: Int64(saturating: capacity), remaining: max(0, Int64(saturating: level.rounded(.down))), resetSeconds: untilFull)
    }
}

/// How much of one kind of allowance is left, for the `x-ratelimit-*` /
/// `anthropic-ratelimit-*` response headers.
public struct RateAllowance: Sendable, Equatable {
    public var limit: Int64
    public var remaining: Int64
    /// Seconds until the allowance is whole again.
    public var resetSeconds: Double

    public init(limit: Int64, remaining: Int64, resetSeconds: Double) {
        self.limit = limit
        self.remaining = remaining
        self.resetSeconds = resetSeconds
    }
}

/// What the rate limits decided for one request.
public enum RateVerdict: Sendable, Equatable {
    case admit(requests: RateAllowance?, tokens: RateAllowance?)
    case refuse(RateRefusal)
}

public struct RateRefusal: Sendable, Equatable {
    public enum Reason: Sendable, Equatable {
        case requests
        case tokens(needed: Int64)
        /// The request alone needs more tokens than the limit allows in a minute.
        case tooLarge(needed: Int64)
        case concurrency
    }

    public var limit: RateLimit
    public var reason: Reason
    /// Seconds until a retry can pass (nil when no wait helps).
    public var retryAfter: Double?
    public var requests: RateAllowance?
    public var tokens: RateAllowance?
}

/// The state of every rate limit in one process: buckets, requests in flight, and what
/// each admitted request holds until it ends. A value type, so the gateway keeps it under
/// one lock and tests drive it with their own clock.
public struct RateLimitBook: Sendable {
    struct Counter: Sendable {
        var requests: RateBucket?
        var tokens: RateBucket?
        var inFlight: Int64 = 0
    }

    struct Hold: Sendable {
        var limitID: String
        var tokens: Int64
    }

    var counters: [String: Counter] = [:]
    var holds: [String: [Hold]] = [:]

    public init() {}

    public var requestsHeld: Int { holds.count }

    /// Admits the request under every limit, or refuses it naming the first limit it
    /// does not fit; admission and taking the allowance are one step.
    ///
    /// `keepFreePercent` is the share of each token bucket the request must leave in it (a
    /// production reserve keeps its top share for production); `force` admits and takes
    /// regardless, so traffic that must pass still counts against what others may use.
    public mutating func admit(requestID: String, tokens asked: Int64, limits: [RateLimit], at time: Double, keepFreePercent: Int = 0, force: Bool = false)
        -> RateVerdict
    {
        // A negative demand would fill the bucket; the edges never send one, and it counts as none.
        let tokens = max(0, asked)
        for limit in limits { refill(limit, at: time) }
        for limit in limits where !force {
            let counter = counters[limit.id] ?? Counter()
            if let max = limit.maxConcurrentRequests, counter.inFlight >= max {
                return .refuse(refusal(limit, .concurrency, retryAfter: 1, counter: counter))
            }
            if let bucket = counter.requests, bucket.level < 1 {
                return .refuse(refusal(limit, .requests, retryAfter: bucket.wait(for: 1), counter: counter))
            }
            if let tpm = limit.tokensPerMinute, let bucket = counter.tokens {
                let floor = bucket.capacity * Double(keepFreePercent) / 100
                if Double(tokens) > Double(tpm) - floor { return .refuse(refusal(limit, .tooLarge(needed: tokens), retryAfter: nil, counter: counter)) }
                if bucket.level - floor < Double(tokens) {
                    return .refuse(refusal(limit, .tokens(needed: tokens), retryAfter: bucket.wait(for: Double(tokens) + floor), counter: counter))
                }
            }
        }
        var held: [Hold] = []
        for limit in limits {
            counters[limit.id, default: Counter()].inFlight += 1
            counters[limit.id]?.requests?.level -= 1
            counters[limit.id]?.tokens?.level -= Double(tokens)
            held.append(Hold(limitID: limit.id, tokens: limit.tokensPerMinute == nil ? 0 : tokens))
        }
        holds[requestID, default: []] += held
        return .admit(requests: tightest(limits, \.requests), tokens: tightest(limits, \.tokens))
    }

    /// Ends a request: frees its concurrency slot and corrects its token estimate to what
    /// it used. A request refused later on (by a budget) gets its request back too.
    public mutating func release(requestID: String, actualTokens: Int64, refundRequest: Bool) {
        guard let held = holds.removeValue(forKey: requestID) else { return }
        for hold in held where counters[hold.limitID] != nil {
            counters[hold.limitID]?.inFlight -= 1
            if hold.tokens > 0, var bucket = counters[hold.limitID]?.tokens {
                bucket.level = min(bucket.capacity, bucket.level + Double(hold.tokens.saturatingSubtract(max(0, actualTokens))))
                counters[hold.limitID]?.tokens = bucket
            }
            if refundRequest, var bucket = counters[hold.limitID]?.requests {
                bucket.level = min(bucket.capacity, bucket.level + 1)
                counters[hold.limitID]?.requests = bucket
            }
        }
    }

    /// The token bucket of a limit, refilled to `time`.
    public mutating func tokenBucket(of limit: RateLimit, at time: Double) -> RateBucket? {
        refill(limit, at: time)
        return counters[limit.id]?.tokens
    }

    /// Forgets counters of limits that no longer exist.
    public mutating func keep(only ids: Set<String>) {
        counters = counters.filter { ids.contains($0.key) }
    }

    mutating func refill(_ limit: RateLimit, at time: Double) {
        var counter = counters[limit.id] ?? Counter()
        counter.requests = Self.refilled(counter.requests, perMinute: limit.requestsPerMinute, at: time)
        counter.tokens = Self.refilled(counter.tokens, perMinute: limit.tokensPerMinute, at: time)
        counters[limit.id] = counter
    }

    static func refilled(_ bucket: RateBucket?, perMinute: Int64?, at time: Double) -> RateBucket? {
        guard let perMinute else { return nil }
        guard var bucket else { return RateBucket(perMinute: perMinute, at: time) }
        bucket.refill(perMinute: perMinute, at: time)
        return bucket
    }

    /// The allowance nearest to running out among the limits, for response headers.
    func tightest(_ limits: [RateLimit], _ bucket: KeyPath<Counter, RateBucket?>) -> RateAllowance? {
        var best: RateAllowance?
        var bestShare = Double.infinity
        for limit in limits {
            guard let found = counters[limit.id]?[keyPath: bucket] else { continue }
            let share = found.level / found.capacity
            if share < bestShare {
                bestShare = share
                best = found.allowance
            }
        }
        return best
    }

    func refusal(_ limit: RateLimit, _ reason: RateRefusal.Reason, retryAfter: Double?, counter: Counter) -> RateRefusal {
        RateRefusal(limit: limit, reason: reason, retryAfter: retryAfter, requests: counter.requests?.allowance, tokens: counter.tokens?.allowance)
    }
}
