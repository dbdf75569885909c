import Foundation

/// One concrete upstream a route sends requests to: a configured provider and the model id
/// it knows the model by.
public struct Deployment: Sendable, Hashable, Codable {
    public var provider: String
    /// The upstream's model id; nil serves the requested name unchanged.
    public var model: String?
    /// Share of traffic under the `weighted` strategy.
    public var weight: Int
    /// Seconds to wait for the response head (non-streamed: the whole answer's head).
    public var timeoutSeconds: Double?
    /// Seconds a streamed answer may take to its first token before the next deployment is tried.
    public var firstTokenTimeoutSeconds: Double?
    /// The model's context window in tokens, when the route says: a request too long for
    /// one deployment moves only to deployments with a larger (or unknown) window.
    public var contextTokens: Int64?

    public init(
        provider: String, model: String? = nil, weight: Int = 1, timeoutSeconds: Double? = nil, contextTokens: Int64? = nil,
        firstTokenTimeoutSeconds: Double? = nil
    ) {
        self.firstTokenTimeoutSeconds = firstTokenTimeoutSeconds
        self.provider = provider
        self.model = model
        self.weight = weight
        self.timeoutSeconds = timeoutSeconds
        self.contextTokens = contextTokens
    }

    /// Whether a request too long for `self` may fit `other`.
    public func mayHoldMore(than other: Deployment) -> Bool {
        guard let mine = contextTokens, let theirs = other.contextTokens else { return true }
        return mine > theirs
    }

    public func upstreamModel(for requested: String) -> String { model ?? requested }

    /// How the ledger, headers and the health table name it: `openai/gpt-4o-mini`.
    public func name(for requested: String) -> String { "\(provider)/\(upstreamModel(for: requested))" }
}

/// How a route orders its deployments for a request.
public enum RouteStrategy: String, Sendable, CaseIterable, Codable {
    /// In the configured order.
    case fallback
    /// At random, in proportion to the weights.
    case weighted
    /// The one that answered fastest lately first (one never measured first of all).
    case leastLatency = "least-latency"
    /// The cheapest at list price first.
    case lowestCost = "lowest-cost"
}

/// A model name (or glob) clients may ask for — a real model name or an alias such as
/// `fast` — and the deployments that serve it. The first route whose pattern matches wins.
public struct ModelRoute: Sendable, Equatable, Codable {
    /// The name clients send, or a glob such as `claude-*` or `*`.
    public var pattern: String
    public var deployments: [Deployment]
    public var strategy: RouteStrategy
    /// Retries on the same deployment before moving to the next (with backoff).
    public var retries: Int
    /// Price ceilings (list price per million tokens): a deployment above either is not used.
    public var maxInputPrice: TokenRate?
    public var maxOutputPrice: TokenRate?
    /// Cost-aware auto routing: each request goes to one of these tiers (other routes) by
    /// its task profile and their observed success. Such a route may have no deployments
    /// of its own (`strates/auto`), or be one of its tiers.
    public var auto: AutoRoutingPolicy?

    public init(
        pattern: String, deployments: [Deployment], strategy: RouteStrategy = .fallback, retries: Int = 0, maxInputPrice: TokenRate? = nil,
        maxOutputPrice: TokenRate? = nil, auto: AutoRoutingPolicy? = nil
    ) {
        self.auto = auto
        self.pattern = pattern
        self.deployments = deployments
        self.strategy = strategy
        self.retries = retries
        self.maxInputPrice = maxInputPrice
        self.maxOutputPrice = maxOutputPrice
    }

    public var hasPriceCeiling: Bool { maxInputPrice != nil || maxOutputPrice != nil }

    /// Whether a deployment at `price` is above this route's ceiling.
    public func isAboveCeiling(_ price: ModelPrice) -> Bool {
        if let ceiling = maxInputPrice, price.input > ceiling { return true }
        if let ceiling = maxOutputPrice, price.output > ceiling { return true }
        return false
    }

    /// The ceiling as people read it: `$3.00 input / $15.00 output per million tokens`.
    public var ceilingText: String {
        [maxInputPrice.map { "\(NanoUSD($0.nanoPerMillion)) input" }, maxOutputPrice.map { "\(NanoUSD($0.nanoPerMillion)) output" }]
            .compactMap { $0 }.joined(separator: " / ") + " per million tokens"
    }

    /// A route with one deployment.
    public init(pattern: String, provider: String, upstreamModel: String? = nil) {
        self.init(pattern: pattern, deployments: [Deployment(provider: provider, model: upstreamModel)])
    }

    public var isPattern: Bool { pattern.contains("*") || pattern.contains("?") }
}

/// What the planner knows of a deployment when it orders a route.
public struct DeploymentStanding: Sendable, Equatable {
    /// Until when it is cooling down after failures.
    public var coolingUntil: Date?
    /// Recent time to the response head, in milliseconds (moving average).
    public var latencyMs: Double?
    /// List price of a typical request (nano-USD per million input plus million output tokens).
    public var price: Int64?

    public init(coolingUntil: Date? = nil, latencyMs: Double? = nil, price: Int64? = nil) {
        self.coolingUntil = coolingUntil
        self.latencyMs = latencyMs
        self.price = price
    }
}

/// Orders a route's deployments for one request: by the route's strategy, with deployments
/// that are cooling down after failures moved to the end (tried only when every other one
/// failed too). Pure, so tests drive it with their own standings and random numbers.
public enum RoutePlanner {
    public static func order(
        _ route: ModelRoute, requested: String, standings: [String: DeploymentStanding], now: Date,
        random: inout some RandomNumberGenerator
    ) -> [Deployment] {
        let standing = { (deployment: Deployment) in standings[deployment.name(for: requested)] ?? DeploymentStanding() }
        var ordered: [Deployment]
        switch route.strategy {
        case .fallback:
            ordered = route.deployments
        case .weighted:
            ordered = weightedShuffle(route.deployments, random: &random)
        case .leastLatency:
            // Never measured comes first, so every deployment gets measured.
            ordered = stableSorted(route.deployments) { (standing($0).latencyMs ?? -1) < (standing($1).latencyMs ?? -1) }
        case .lowestCost:
            ordered = stableSorted(route.deployments) { (standing($0).price ?? .max) < (standing($1).price ?? .max) }
        }
        let cooling = { (deployment: Deployment) in standing(deployment).coolingUntil.map { $0 > now } ?? false }
        return ordered.filter { !cooling($0) } + ordered.filter(cooling)
    }

    /// Each place drawn in proportion to the weights of those not yet placed.
    static func weightedShuffle(_ deployments: [Deployment], random: inout some RandomNumberGenerator) -> [Deployment] {
        var left = deployments
        var out: [Deployment] = []
        while !left.isEmpty {
            let total = left.reduce(0) { $0 + max(0, $1.weight) }
            guard total > 0 else { return out + left }
            var pick = Int.random(in: 0..<total, using: &random)
            let index =
                left.firstIndex { deployment in
                    pick -= max(0, deployment.weight)
                    return pick < 0
                } ?? 0
            out.append(left.remove(at: index))
        }
        return out
    }

    static func stableSorted(_ deployments: [Deployment], by less: (Deployment, Deployment) -> Bool) -> [Deployment] {
        deployments.enumerated().sorted { less($0.element, $1.element) || (!less($1.element, $0.element) && $0.offset < $1.offset) }.map(\.element)
    }
}

/// Why an attempt on a deployment failed, as far as retrying goes.
public enum AttemptFailure: Sendable, Equatable {
    /// 429 from the provider, with its `retry-after` in seconds when it sent one.
    case rateLimited(retryAfter: Double?)
    /// A 5xx status.
    case serverError(status: Int)
    /// No response head within the timeout.
    case timeout
    /// A stream whose first token did not come within the deployment's first-token timeout.
    case firstTokenTimeout
    /// Could not connect, or the connection broke before the head.
    case connection
    /// A 4xx other than 429: the request itself is wrong; another deployment would say the same.
    case clientError(status: Int)
    /// The request is longer than the model's context window: a larger model may take it.
    case contextLength

    public init(status: Int, retryAfter: Double?) {
        switch status {
        case 429: self = .rateLimited(retryAfter: retryAfter)
        case 500...: self = .serverError(status: status)
        default: self = .clientError(status: status)
        }
    }

    /// Whether trying again (here or on another deployment) may succeed.
    public var isRetryable: Bool {
        if case .clientError = self { return false }
        return true
    }

    /// Whether it says something about the deployment's health (a request too long does not).
    public var isDeploymentFault: Bool {
        switch self {
        case .clientError, .contextLength: false
        default: true
        }
    }

    /// How the ledger writes it: `429`, `503`, `timeout`, `connection`.
    public var text: String {
        switch self {
        case .rateLimited: "429"
        case .serverError(let status), .clientError(let status): String(status)
        case .timeout: "timeout"
        case .firstTokenTimeout: "first_token_timeout"
        case .connection: "connection"
        case .contextLength: "context_length"
        }
    }

    /// Whether an error body says the request does not fit the model's context window, as
    /// OpenAI (`context_length_exceeded`), Anthropic (`prompt is too long`) and
    /// OpenAI-compatible servers word it.
    public static func isContextOverflow(_ body: [UInt8]) -> Bool {
        let text = String(decoding: body.prefix(8_192), as: UTF8.self).lowercased()
        return ["context_length_exceeded", "maximum context length", "prompt is too long", "context window", "too many tokens", "input is too long"]
            .contains { text.contains($0) }
    }
}

/// Waits between retries on the same deployment: exponential backoff with full jitter,
/// or the provider's `retry-after` when it is short enough to wait for.
public struct RetryBackoff: Sendable, Equatable {
    public var baseSeconds: Double
    public var capSeconds: Double
    /// The longest `retry-after` worth waiting for; longer ones move to the next deployment.
    public var maxRetryAfterSeconds: Double

    public init(baseSeconds: Double = 0.25, capSeconds: Double = 4, maxRetryAfterSeconds: Double = 10) {
        self.baseSeconds = baseSeconds
        self.capSeconds = capSeconds
        self.maxRetryAfterSeconds = maxRetryAfterSeconds
    }

    /// Seconds before retry number `retry` (0 for the first retry) after `failure`; nil when
    /// waiting is not worth it (a `retry-after` too long).
    public func delay(before retry: Int, after failure: AttemptFailure, random: inout some RandomNumberGenerator) -> Double? {
        if case .rateLimited(let after?) = failure {
            return after <= maxRetryAfterSeconds ? after : nil
        }
        let ceiling = min(capSeconds, baseSeconds * Double(1 << min(retry, 16)))
        return Double.random(in: 0...ceiling, using: &random)
    }
}

extension RoutePlanner {
    /// Cache affinity: puts the deployment that served the run before (`held`, where its
    /// prompt cache is warm) first, then the other deployments of its provider (which may
    /// share the cache, and at least the cache pricing), then the rest, each group in the
    /// strategy's order. Cooling deployments stay last: affinity does not outrank failures.
    public static func preferring(_ held: String, provider: String, in ordered: [Deployment], requested: String, cooling: Set<String>) -> [Deployment] {
        guard ordered.contains(where: { $0.name(for: requested) == held && !cooling.contains(held) }) else { return ordered }
        func rank(_ deployment: Deployment) -> Int {
            let name = deployment.name(for: requested)
            if cooling.contains(name) { return 3 }
            if name == held { return 0 }
            return deployment.provider == provider ? 1 : 2
        }
        return ordered.enumerated().sorted { (rank($0.element), $0.offset) < (rank($1.element), $1.offset) }.map(\.element)
    }
}
