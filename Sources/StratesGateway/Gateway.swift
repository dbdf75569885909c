import Foundation
import Logging
import NIOCore
import StratesCore
import StratesLedger
import StratesProviders
import StratesWire
import Synchronization

/// A model call as it reaches the gateway.
public struct GatewayRequest: Sendable {
    public var api: APIKind
    /// Header names lowercased.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// The query string as the client sent it (percent-encoded), passed on upstream.
    public var query: String?
    public var receivedAt: ContinuousClock.Instant
    /// Where the work a call leaves behind (its budget settlement) runs: the executor of the
    /// connection's event loop, so that it does not wake a thread of the global pool for
    /// every request. Nil runs it on the global pool.
    public var executor: (any TaskExecutor)?

    public init(
        api: APIKind, headers: [(name: String, value: String)], body: [UInt8], query: String? = nil,
        receivedAt: ContinuousClock.Instant = .now, executor: (any TaskExecutor)? = nil
    ) {
        self.api = api
        self.headers = headers
        self.body = body
        self.query = query
        self.receivedAt = receivedAt
        self.executor = executor
    }
}

/// What the gateway answers: whole bytes, or a stream relayed as it arrives.
public struct GatewayResponse: Sendable {
    public enum Body: Sendable {
        case bytes([UInt8])
        /// An upstream body passed on as received, without another copy.
        case buffer(ByteBuffer)
        case stream(StreamRelay)
    }

    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: Body
    /// For a whole answer that was metered: the settlement (ledger, budgets, metrics), run by
    /// the server once the answer is written, so that it is not on the client's wait. It
    /// runs by itself if the server drops it.
    public var settlement: DeferredSettlement?

    init(status: Int, headers: [(name: String, value: String)], body: Body, settlement: DeferredSettlement? = nil) {
        self.status = status
        self.headers = headers
        self.body = body
        self.settlement = settlement
    }
}

/// Work that must run exactly once: when called, or else when dropped.
public final class DeferredSettlement: Sendable {
    private let work: Mutex<(@Sendable () -> Void)?>

    init(_ work: @escaping @Sendable () -> Void) {
        self.work = Mutex(work)
    }

    public func run() {
        work.withLock { work in
            defer { work = nil }
            return work
        }?()
    }

    deinit { run() }
}

public struct GatewayLimits: Sendable {
    /// Largest upstream response body read whole (non-streamed answers, error bodies).
    public var maxResponseBytes = 64 << 20
    /// `max_tokens` for an OpenAI chat request carried to an Anthropic model without one
    /// (Anthropic requires it).
    public var translatedMaxTokens: Int64 = 4_096
    /// The most output tokens a request may ask for; above it, a 400.
    public var maxOutputTokens: Int64 = Bounds.defaultMaxOutputTokens
    /// Output tokens budgets, grants and spend reserves hold for a request that sets no
    /// maximum of its own.
    public var defaultOutputTokens: Int64 = 4_096

    public init() {}
}

/// What routing remembers between requests: which deployment each run last used (for
/// prompt-cache affinity), which deployments are above their route's price ceiling (to
/// report each move once), and the tiers' observed success (for cost-aware auto routing).
struct RoutingMemory: Sendable {
    let affinity = RunAffinity()
    let ceilings = CeilingWatch()
    let autoRouting = AutoRoutingState()
}

/// The gateway: its parts, and the entry point of a model call. The call's path, stage by
/// stage, is `process` in RequestPipeline.swift.
public final class Gateway: Sendable {
    public let authenticator: Authenticator
    let routerState: Mutex<ModelRouter>
    /// The routes in force; replaced whole when routes change through the admin API.
    public var router: ModelRouter { routerState.withLock { $0 } }
    let ledger: LedgerWriter
    let pricing: Pricing
    let metrics: GatewayMetrics
    let limits: GatewayLimits
    /// What a request must pass before it is sent upstream.
    public let controls: GatewayControls
    /// `controls` in the order a request passes them, built once.
    let admissionOrder: [any Control]
    /// How each deployment has been doing: cool-downs and latency, for routing.
    public let health: DeploymentHealth
    let memory = RoutingMemory()
    public let notices: (any NoticeSink)?
    let backoff: RetryBackoff

    public init(
        authenticator: Authenticator, router: ModelRouter, ledger: LedgerWriter, pricing: Pricing, metrics: GatewayMetrics,
        controls: GatewayControls = GatewayControls(), limits: GatewayLimits = GatewayLimits(), health: DeploymentHealth = DeploymentHealth(),
        backoff: RetryBackoff = RetryBackoff(), notices: (any NoticeSink)? = nil
    ) {
        self.authenticator = authenticator
        self.routerState = Mutex(router)
        self.ledger = ledger
        self.pricing = pricing
        self.metrics = metrics
        self.controls = controls
        self.admissionOrder = controls.inOrder
        self.limits = limits
        self.health = health
        self.backoff = backoff
        self.notices = notices
    }

    /// Each run's calls and spend, to flag (and stop) runaway runs.
    public var runs: RunWatch? { controls.runs }

    public var advertisedModels: [String] { router.advertisedModels }

    /// Puts `routes` in force (the admin API's first, then the configuration's), keeping
    /// the providers and the routing rules.
    public func replaceRoutes(_ routes: [ModelRoute]) {
        routerState.withLock { $0 = ModelRouter(routes: routes, providers: Array($0.providers.values), rules: $0.rules) }
    }

    /// Handles one model call; never throws: every failure becomes an error response in
    /// the caller's format.
    public func handle(_ request: GatewayRequest, logger: Logger) async -> GatewayResponse {
        let requestID = "req_" + KeySecrets.randomHex(12)
        var logger = logger
        logger[metadataKey: "strates_request_id"] = "\(requestID)"
        do {
            return try await process(request, requestID: requestID, logger: logger)
        } catch {
            metrics.recordRejection(status: error.statusCode, code: error.code)
            logger.debug("request refused", metadata: ["status": "\(error.statusCode)", "code": "\(error.code ?? "")"])
            let headers = error.responseHeaders + [("x-strates-request-id", requestID)]
            return GatewayResponse(status: error.statusCode, headers: headers, body: .bytes(error.body(format: request.api.errorFormat)))
        }
    }

    /// `handle`, with a whole answer's settlement run before it returns: for callers that
    /// do not write the answer to a client themselves (in-process tests, the router's routes).
    public func handleSettled(_ request: GatewayRequest, logger: Logger) async -> GatewayResponse {
        let response = await handle(request, logger: logger)
        response.settlement?.run()
        return response
    }
}

extension RequestRecord {
    /// The ledger's note on a request whose upstream reported a count it cannot have used.
    static func implausibleUsageError(_ count: String) -> String {
        "the provider reported usage out of bounds (\(count)); metered as an estimate"
    }

    /// What a settled request's log line carries: counts and ids only, never prompt text, never keys.
    var logMetadata: Logger.Metadata {
        [
            "api": "\(api)", "model": "\(servedModel ?? requestedModel)",
            "provider": "\(provider ?? "-")", "status": "\(status.rawValue)",
            "http_status": "\(httpStatus.map(String.init) ?? "-")", "latency_ms": "\(latencyMs ?? 0)",
            "input_tokens": "\(usage.totalInput)", "output_tokens": "\(usage.output)",
            "cost_nano_usd": "\(cost.map { String($0.value) } ?? "unknown")", "key": "\(attribution.keyID ?? "-")",
        ]
    }

    /// Takes what the provider said about its answer: its id for the request (when no
    /// header gave one), the model that answered (e.g. a dated snapshot of an alias), and
    /// the service tier it ran on.
    mutating func noteResponse(_ meter: UsageMeter) {
        if upstreamRequestID == nil { upstreamRequestID = meter.responseID.map { String($0.prefix(256)) } }
        if let served = meter.responseModel, !served.isEmpty, served.utf8.count <= Bounds.modelNameBytes { servedModel = served }
        serviceTier = ServiceTier(reported: meter.serviceTier).nonStandard
    }
}

extension Duration {
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
