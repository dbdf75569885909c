import Foundation
import StratesCore
import StratesLedger
import StratesWire
import Synchronization

/// What the rate limits left a request: the allowances for its response headers.
public struct RateAdmission: Sendable, Equatable {
    public var requests: RateAllowance?
    public var tokens: RateAllowance?

    public static let unlimited = RateAdmission()

    public var isLimited: Bool { requests != nil || tokens != nil }
}

/// Rate limits on the request path: requests and tokens per minute and requests in flight,
/// per key, member, team or any other scope. Counters live in this process (each replica
/// enforces its own share, as in LiteLLM without Redis); definitions come from the store.
public final class RateLimiter: Sendable {
    public let rules = RuleIndex<RateLimit>()
    let store: any RuleStore
    let book = Mutex(RateLimitBook())
    /// Requests holding an allowance; while zero, ending a request takes no lock.
    let held = Atomic<Int>(0)
    /// Seconds on a monotonic clock.
    let clock: @Sendable () -> Double

    public init(store: any RuleStore, clock: (@Sendable () -> Double)? = nil) {
        self.store = store
        let start = ContinuousClock.now
        self.clock = clock ?? { Double((ContinuousClock.now - start).milliseconds) / 1000 }
    }

    public func reload() async throws {
        let limits = try await store.rules(RateLimit.self)
        rules.replace(with: limits)
        let ids = Set(limits.map(\.id))
        book.withLock { $0.keep(only: ids) }
    }

    /// Takes the request's allowance under every limit covering it, or throws a 429 in
    /// the caller's format naming the limit, with `retry-after`.
    func admit(_ record: RequestRecord, demand: Demand) throws(GatewayError) -> RateAdmission {
        let limits = rules.covering(record.attribution)
        guard !limits.isEmpty else { return .unlimited }
        let tokens = demand.tokens
        let time = clock()
        let verdict = book.withLock { book in
            let verdict = book.admit(requestID: record.id, tokens: tokens, limits: limits, at: time)
            held.store(book.requestsHeld, ordering: .relaxed)
            return verdict
        }
        switch verdict {
        case .admit(let requests, let tokens):
            return RateAdmission(requests: requests, tokens: tokens)
        case .refuse(let refusal):
            throw Self.error(for: refusal, api: demand.api)
        }
    }

    /// Ends a request's hold: frees its slot and corrects its token estimate to its usage.
    func release(_ record: RequestRecord) {
        guard held.load(ordering: .relaxed) > 0 else { return }
        let rejected = record.status == .rejected
        let used = rejected ? 0 : record.usage.total
        book.withLock { book in
            book.release(requestID: record.id, actualTokens: used, refundRequest: rejected)
            held.store(book.requestsHeld, ordering: .relaxed)
        }
    }

    static func error(for refusal: RateRefusal, api: APIKind) -> GatewayError {
        let limit = refusal.limit
        let wait = refusal.retryAfter.map { " Retry in \(RateHeaders.seconds($0)) s." } ?? ""
        let message: String
        switch refusal.reason {
        case .requests:
            message = "Rate limit '\(limit.name)' (\(limit.scope.text)) allows \(limit.requestsPerMinute ?? 0) requests per minute, and none is left.\(wait)"
        case .tokens(let needed):
            message =
                "Rate limit '\(limit.name)' (\(limit.scope.text)) allows \(limit.tokensPerMinute ?? 0) tokens per minute; this request may use \(needed) (input estimate plus max tokens), more than is left now.\(wait) Or lower max_tokens."
        case .tooLarge(let needed):
            message =
                "Rate limit '\(limit.name)' (\(limit.scope.text)) allows \(limit.tokensPerMinute ?? 0) tokens per minute, and this request alone may use \(needed) (input estimate plus max tokens). Send less input or lower max_tokens, or ask an admin to raise the limit."
        case .concurrency:
            message =
                "Rate limit '\(limit.name)' (\(limit.scope.text)) allows \(limit.maxConcurrentRequests ?? 0) requests at once, and that many are in flight.\(wait)"
        }
        var error = GatewayError(status: 429, message: message, code: "rate_limit_exceeded")
        error.headers = RateHeaders.render(RateAdmission(requests: refusal.requests, tokens: refusal.tokens), api: api)
        error.headers.append(("x-strates-rate-limit", limit.name))
        if let retryAfter = refusal.retryAfter {
            error.headers.append(("retry-after", String(max(1, Int(retryAfter.rounded(.up))))))
        } else {
            error.headers.append(("x-should-retry", "false"))
        }
        return error
    }
}

/// Rate-limit response headers in each API's own style: `x-ratelimit-*` with Go-style
/// durations for OpenAI's, `anthropic-ratelimit-*` with RFC 3339 times for Anthropic's.
public enum RateHeaders {
    public static func render(_ admission: RateAdmission, api: APIKind, now: Date = Date()) -> [(name: String, value: String)] {
        var headers: [(name: String, value: String)] = []
        for (kind, allowance) in [("requests", admission.requests), ("tokens", admission.tokens)] {
            guard let allowance else { continue }
            switch api.errorFormat {
            case .openAI:
                headers.append(("x-ratelimit-limit-\(kind)", String(allowance.limit)))
                headers.append(("x-ratelimit-remaining-\(kind)", String(allowance.remaining)))
                headers.append(("x-ratelimit-reset-\(kind)", duration(allowance.resetSeconds)))
            case .anthropic:
                headers.append(("anthropic-ratelimit-\(kind)-limit", String(allowance.limit)))
                headers.append(("anthropic-ratelimit-\(kind)-remaining", String(allowance.remaining)))
                headers.append(("anthropic-ratelimit-\(kind)-reset", BudgetText.timestamp(now.addingTimeInterval(allowance.resetSeconds.rounded(.up)))))
            }
        }
        return headers
    }

    /// Whether an upstream header is of a family Strates replaces with its own.
    static func isRateHeader(_ name: String) -> Bool {
        name.hasPrefix("x-ratelimit-") || name.hasPrefix("anthropic-ratelimit-")
    }

    /// Go's duration text, as OpenAI sends it: `17ms`, `1s`, `6m0s`, `1m30.5s`.
    public static func duration(_ interval: Double) -> String {
        let millis = Int64((max(0, interval) * 1000).rounded(.up))
        if millis < 1000 { return "\(millis)ms" }
        let hours = millis / 3_600_000
        let minutes = millis / 60_000 % 60
        let secondsText = Self.seconds(Double(millis % 60_000) / 1000)
        if hours > 0 { return "\(hours)h\(minutes)m\(secondsText)s" }
        if minutes > 0 { return "\(minutes)m\(secondsText)s" }
        return "\(secondsText)s"
    }

    /// Seconds with at most three decimals and no trailing zeros: `1`, `0.25`, `12.5`.
    static func seconds(_ value: Double) -> String {
        let millis = Int64((value * 1000).rounded(.up))
        let whole = millis / 1000
        var fraction = String(millis % 1000)
        guard fraction != "0" else { return String(whole) }
        fraction = String(repeating: "0", count: 3 - fraction.count) + fraction
        while fraction.hasSuffix("0") { fraction.removeLast() }
        return "\(whole).\(fraction)"
    }
}
