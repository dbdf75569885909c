import Foundation

/// How a request ended, as the ledger records it.
public enum RequestStatus: String, Sendable, Codable, CaseIterable {
    /// The upstream answered in full with a success status.
    case completed
    /// The upstream answered with an error status, or could not be reached.
    case failed
    /// Strates refused the request before any upstream call (unknown model, bad body, …).
    case rejected
    /// A stream stopped early, cut by the upstream or by the client; usage is estimated.
    case cut
    /// The gateway stopped (crash, kill) while the request was in flight; found on restart.
    case interrupted
}

/// One model call, as the ledger keeps it. Append-only: a record is written once per id.
public struct RequestRecord: Sendable, Codable, Equatable {
    public var id: String
    public var startedAt: Date
    public var endedAt: Date?
    public var api: String
    public var stream: Bool
    public var status: RequestStatus
    public var httpStatus: Int?
    public var attribution: Attribution
    public var requestedModel: String
    public var servedModel: String?
    public var provider: String?
    public var upstreamRequestID: String?
    public var latencyMs: Int64?
    public var timeToFirstTokenMs: Int64?
    public var usage: Usage
    /// True when usage was estimated (stream cut, crash) rather than reported by the upstream.
    public var usageEstimated: Bool
    /// Nil when no price was known: an unknown cost, never zero.
    public var cost: NanoUSD?
    /// A short, secret-free description of what went wrong.
    public var error: String?
    /// Input tokens estimated from the request size, kept so a crash can still be metered.
    public var inputEstimate: Int64
    /// The service tier the provider says it ran on, when not standard; it changes the price.
    /// (Fields added after the first release are optional, so journals written by an
    /// earlier version still decode on recovery.)
    public var serviceTier: ServiceTier?
    /// The maximum output tokens a budget lowered the request to, when it did.
    public var outputCap: Int64?
    /// The budget that moved the request to its cheaper downgrade model, when one did.
    public var downgradedBy: String?
    /// The grant (allowance) a personal-use request drew from.
    public var grantID: String?
    /// The route the requested model matched, when it has several deployments (an alias such as `fast`).
    public var route: String?
    /// Attempts that failed before the one that served (or before Strates gave up), in order:
    /// `provider/model: failure` joined by `; ` (failure: a status, `timeout` or `connection`).
    public var failedAttempts: String?
    /// The routing rule that sent the request to its route, when one did.
    public var routingRule: String?
    /// The task profile read from the request's features (`chat/low`, `agentic/medium`, …),
    /// what auto routing learns success rates per.
    public var taskClass: String?
    /// The tier an auto-routed request was sent to, and why.
    public var autoTier: String?
    public var routingReason: String?
    /// `provider/model` an auto-routed request's savings are measured against: the first
    /// deployment of the policy's baseline tier, as it stood when the request was routed.
    public var baselineModel: String?
    /// Where an imported record came from (`claude-code`, …); nil for traffic through the gateway.
    public var source: String?
    /// For a request of a run: `tool` when it goes on from a tool's result, `human` otherwise.
    public var turn: String?

    public init(
        id: String, startedAt: Date, endedAt: Date? = nil, api: String, stream: Bool, status: RequestStatus,
        httpStatus: Int? = nil, attribution: Attribution, requestedModel: String, servedModel: String? = nil,
        provider: String? = nil, upstreamRequestID: String? = nil, latencyMs: Int64? = nil,
        timeToFirstTokenMs: Int64? = nil, usage: Usage = .zero, usageEstimated: Bool = false,
        cost: NanoUSD? = nil, error: String? = nil, inputEstimate: Int64 = 0, serviceTier: ServiceTier? = nil,
        outputCap: Int64? = nil, downgradedBy: String? = nil, grantID: String? = nil, route: String? = nil,
        failedAttempts: String? = nil, routingRule: String? = nil, taskClass: String? = nil, autoTier: String? = nil,
        routingReason: String? = nil, baselineModel: String? = nil, source: String? = nil, turn: String? = nil
    ) {
        self.turn = turn
        self.source = source
        self.taskClass = taskClass
        self.autoTier = autoTier
        self.routingReason = routingReason
        self.baselineModel = baselineModel
        self.id = id
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.api = api
        self.stream = stream
        self.status = status
        self.httpStatus = httpStatus
        self.attribution = attribution
        self.requestedModel = requestedModel
        self.servedModel = servedModel
        self.provider = provider
        self.upstreamRequestID = upstreamRequestID
        self.latencyMs = latencyMs
        self.timeToFirstTokenMs = timeToFirstTokenMs
        self.usage = usage
        self.usageEstimated = usageEstimated
        self.cost = cost
        self.error = error
        self.inputEstimate = inputEstimate
        self.serviceTier = serviceTier
        self.outputCap = outputCap
        self.downgradedBy = downgradedBy
        self.grantID = grantID
        self.route = route
        self.failedAttempts = failedAttempts
        self.routingRule = routingRule
    }
}
