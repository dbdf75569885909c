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

    public init() {}
}

/// The request pipeline: authenticate, read the few fields needed, attribute, route,
/// journal, call the upstream, meter its own usage, price, and settle into the ledger.
public final class Gateway: Sendable {
    public let authenticator: Authenticator
    let routerState: Mutex<ModelRouter>
    /// The routes in force; replaced whole when routes change through the admin API.
    public var router: ModelRouter { routerState.withLock { $0 } }
    let ledger: LedgerWriter
    let pricing: Pricing
    let metrics: GatewayMetrics
    let limits: GatewayLimits
    public let budgets: BudgetGuard?
    public let rateLimits: RateLimiter?
    public let policies: AccessGuard?
    public let grants: GrantGuard?
    public let reserves: ReserveGuard?
    /// How each deployment has been doing: cool-downs and latency, for routing.
    public let health: DeploymentHealth
    /// Which deployment each run last used, for prompt-cache affinity.
    let affinity = RunAffinity()
    /// Deployments above their route's price ceiling, to report each move once.
    let ceilings = CeilingWatch()
    /// The tiers' observed success, for cost-aware auto routing.
    let autoRouting = AutoRoutingState()
    /// Each run's calls and spend, to flag (and stop) runaway runs.
    public let runs: RunWatch?
    public let notices: (any NoticeSink)?
    let backoff: RetryBackoff

    public init(
        authenticator: Authenticator, router: ModelRouter, ledger: LedgerWriter, pricing: Pricing, metrics: GatewayMetrics,
        budgets: BudgetGuard? = nil, rateLimits: RateLimiter? = nil, policies: AccessGuard? = nil, grants: GrantGuard? = nil,
        reserves: ReserveGuard? = nil, limits: GatewayLimits = GatewayLimits(), health: DeploymentHealth = DeploymentHealth(),
        backoff: RetryBackoff = RetryBackoff(), notices: (any NoticeSink)? = nil, runs: RunWatch? = nil
    ) {
        self.runs = runs
        self.notices = notices
        self.health = health
        self.backoff = backoff
        self.grants = grants
        self.reserves = reserves
        self.budgets = budgets
        self.rateLimits = rateLimits
        self.policies = policies
        self.authenticator = authenticator
        self.routerState = Mutex(router)
        self.ledger = ledger
        self.pricing = pricing
        self.metrics = metrics
        self.limits = limits
    }

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

    func process(_ request: GatewayRequest, requestID: String, logger: Logger) async throws(GatewayError) -> GatewayResponse {
        let key = try await authenticator.authenticate(headers: request.headers)
        let summary: RequestSummary
        do {
            summary = try RequestSummary.inspect(request.body, api: request.api)
        } catch {
            throw GatewayError.badRequest(error.message, param: error.param)
        }
        if let asked = summary.maxTokens, asked > limits.maxOutputTokens {
            let field = summary.maxTokensField ?? "max_tokens"
            throw GatewayError.badRequest(
                "'\(field)' is \(asked); Strates accepts at most \(limits.maxOutputTokens) output tokens per request (server.max_output_tokens). Lower \(field).",
                param: field
            )
        }
        let attribution = AttributionResolver.resolve(key: key, headers: request.headers, summary: summary)
        let features = RequestFeatures(
            model: summary.model, attribution: attribution, inputTokens: summary.estimatedInputTokens, maxTokens: summary.maxTokens,
            hasTools: summary.hasTools, reasoning: summary.reasoning, hasImages: { RequestSummary.mentionsImages(request.body) }
        )
        let router = self.router
        guard let decided = router.decide(features) else {
            throw GatewayError.unknownModel(summary.model, available: router.advertisedModels)
        }
        var route = decided.route
        let rule = decided.rule
        // With auto routing on, every request's task profile is kept, so that feedback on
        // any tier (asked for directly or not) teaches the router.
        let profile = router.hasAutoRoutes && request.api != .countTokens ? TaskProfile.classify(features) : nil
        var requested = summary.model
        let alias = route.pattern
        var auto: AutoChoice?
        if let policy = route.auto, let profile {
            var random = SystemRandomNumberGenerator()
            guard let choice = router.chooseTier(policy, of: route, profile: profile, book: tierRecords, random: &random) else {
                throw GatewayError(
                    status: 503,
                    message: "No tier of '\(route.pattern)' (\(policy.tiers.joined(separator: ", "))) is served by a configured provider right now.",
                    code: "no_tier_available")
            }
            auto = choice
            (route, requested) = (choice.route, choice.tier)
        }
        let run = route.deployments.count > 1 ? attribution.run : nil
        let held = run.flatMap { affinity.held(run: $0, route: route.pattern, now: Date()) }
        let planned = router.plan(route, requested: requested, api: request.api, health: health, pricing: pricing, now: Date(), held: held)
        var plan = planned.deployments
        if route.hasPriceCeiling { watchCeiling(route, requested: requested, planned.aboveCeiling) }
        let first = plan.first ?? router.deployments(of: route, requested: requested)[0]
        var record = RequestRecord(
            id: requestID, startedAt: Date(), api: request.api.rawValue, stream: summary.stream, status: .completed,
            attribution: attribution, requestedModel: summary.model, servedModel: first.upstreamModel, provider: first.provider.name,
            inputEstimate: summary.estimatedInputTokens,
            route: auto != nil ? alias : route.deployments.count > 1 || rule != nil ? route.pattern : nil,
            routingRule: rule?.name, taskClass: profile?.text, autoTier: auto?.tier, routingReason: auto?.reason, baselineModel: auto?.baseline,
            // Workload profiles tell an agent's loop from people's turns; only runs need it.
            turn: attribution.run == nil || request.api == .countTokens ? nil : ConversationTurn.latest(body: request.body)?.rawValue
        )
        guard !plan.isEmpty else {
            if request.api == .countTokens {
                return countTokensLocally(record: record, summary: summary, request: request)
            }
            record.status = .rejected
            if !planned.aboveCeiling.isEmpty {
                record.httpStatus = 403
                record.error = "refused: price_ceiling"
                settle(&record, request: request, logger: logger)
                let prices = planned.aboveCeiling.map {
                    "\($0.deployment.name) at \(NanoUSD($0.price.input.nanoPerMillion)) input / \(NanoUSD($0.price.output.nanoPerMillion)) output"
                }
                throw GatewayError(
                    status: 403,
                    message:
                        "Every deployment of route '\(route.pattern)' is above its price ceiling (\(route.ceilingText)): \(prices.joined(separator: "; ")). Ask an admin to raise the ceiling or add a cheaper deployment.",
                    code: "price_ceiling"
                )
            }
            record.httpStatus = 400
            record.error = "api not supported by provider"
            settle(&record, request: request, logger: logger)
            throw GatewayError.badRequest(
                "The model '\(summary.model)' is served by '\(first.provider.name)' (\(first.provider.kind.rawValue)), which does not speak the \(request.api.rawValue) API. Call it through its own API, or route this model to a provider that does.",
                param: "model"
            )
        }

        // Budgets go by attribution, which routing does not change: found once.
        let covering = budgets?.covering(record.attribution) ?? []
        if let budgets, let downgrade = await budgets.downgrade(for: record, budgets: covering, summary: summary, api: request.api) {
            let downgraded =
                router.route(for: downgrade.model).map {
                    router.plan($0, requested: downgrade.model, api: request.api, health: health, pricing: pricing, now: Date()).deployments
                } ?? []
            if let target = downgraded.first {
                plan = downgraded
                record.provider = target.provider.name
                record.servedModel = target.upstreamModel
                record.downgradedBy = downgrade.budget.name
            } else {
                logger.warning(
                    "budget downgrade model cannot serve this request; keeping the requested model",
                    metadata: ["budget": "\(downgrade.budget.name)", "model": "\(downgrade.model)"])
            }
        }
        let (rates, admission) = try await control(&record, budgets: covering, summary: summary, request: request, logger: logger)
        record.outputCap = admission.outputCap

        var body = request.body
        var bodySummary = summary
        let hideUsageChunk = request.api == .chatCompletions && summary.stream && !summary.clientIncludesUsage
        if hideUsageChunk {
            // Ask the upstream for usage even when the client did not, and hide that chunk.
            body = RequestRewrite.requestingStreamUsage(in: body, summary: summary)
            if plan.contains(where: { $0.upstreamModel != summary.model }) {
                // The splice moved the model's bytes: find them again (aliases only).
                bodySummary = (try? RequestSummary.inspect(body, api: request.api)) ?? summary
            }
        }
        do {
            try ledger.begin(record)
        } catch {
            logger.error("ledger journal unavailable", metadata: ["error": "\(error)"])
            record.status = .rejected
            releaseControls(record, executor: request.executor)
            throw GatewayError(
                status: 503,
                message: "Strates cannot record usage right now (ledger journal unavailable), so it is not forwarding requests. Try again shortly.",
                code: "ledger_unavailable")
        }

        let response: UpstreamResponse
        do {
            response = try await deliver(plan, retries: route.retries, record: &record, logger: logger) { target in
                var api = request.api
                var outgoing: [UInt8]
                if target.provider.kind.supports(request.api) {
                    outgoing = RequestRewrite.replacingModel(in: body, summary: bodySummary, with: target.upstreamModel)
                } else if request.api == .chatCompletions {
                    // An OpenAI chat request for an Anthropic model: carried into the Messages API.
                    outgoing = try ChatToMessages.translate(request.body, model: target.upstreamModel, defaultMaxTokens: limits.translatedMaxTokens)
                    api = .messages
                } else {
                    // An Anthropic messages request for an OpenAI-format model.
                    outgoing = try OpenAIForAnthropic.request(request.body, model: target.upstreamModel)
                    api = .chatCompletions
                }
                if let cap = admission.outputCap {
                    outgoing = RequestRewrite.cappingMaxTokens(in: outgoing, api: api, to: cap)
                }
                return UpstreamRequest(
                    api: api, body: outgoing, headers: HeaderPolicy.upstream(request.headers), stream: summary.stream,
                    model: target.upstreamModel, requestID: requestID, query: request.query, timeout: target.deployment.timeoutSeconds
                )
            }
        } catch let error as TranslationError {
            record.status = .rejected
            record.httpStatus = 400
            record.error = "refused: untranslatable"
            settle(&record, request: request, logger: logger)
            throw GatewayError.badRequest(error.message, param: error.param)
        } catch let error as ProviderError {
            let provider = record.provider ?? "upstream"
            record.status = .failed
            record.httpStatus = error.isTimeout ? 504 : 502
            record.error = error.description
            settle(&record, request: request, logger: logger)
            metrics.recordUpstreamError(provider: provider, status: record.httpStatus ?? 502)
            throw error.isTimeout ? GatewayError.upstreamTimeout(provider) : GatewayError.upstreamUnavailable(provider, error.description)
        } catch {
            record.status = .failed
            record.httpStatus = 502
            record.error = "upstream call cancelled or failed"
            settle(&record, request: request, logger: logger)
            throw GatewayError.upstreamUnavailable(record.provider ?? "upstream", "the call did not complete")
        }
        if let run, response.status < 400, let provider = record.provider, let model = record.servedModel, record.downgradedBy == nil {
            affinity.remember(run: run, route: route.pattern, deployment: "\(provider)/\(model)", provider: provider, now: Date())
        }
        record.upstreamRequestID = (response.header("x-request-id") ?? response.header("request-id")).map { String($0.prefix(256)) }
        var headers = HeaderPolicy.downstream(response.headers)
        headers.append(("x-strates-request-id", requestID))
        if rates.isLimited {
            // The client's limits are Strates' now, not the provider account's.
            headers.removeAll { RateHeaders.isRateHeader($0.name) }
            headers += RateHeaders.render(rates, api: request.api)
        }
        headers.append(("x-strates-deployment", "\(record.provider ?? "")/\(record.servedModel ?? "")"))
        if let failed = record.failedAttempts {
            headers.append(("x-strates-fallbacks", String(failed.split(separator: ";").count)))
        }
        if let auto {
            headers.append(("x-strates-auto-tier", HeaderPolicy.printable(auto.tier)))
            headers.append(("x-strates-routing-reason", HeaderPolicy.printable(auto.reason)))
        }
        if let budget = record.downgradedBy {
            headers.append(("x-strates-downgraded-to", record.servedModel ?? ""))
            headers.append(("x-strates-budget", budget))
        }
        if let cap = admission.outputCap {
            headers.append(("x-strates-max-tokens-capped", String(cap)))
            if let name = admission.cappedBy, record.downgradedBy == nil { headers.append(("x-strates-budget", name)) }
        }

        // Answered in the Messages API for an OpenAI chat client: carried back on the way out.
        let carried = !(router.providers[record.provider ?? ""]?.kind.supports(request.api) ?? true)
        guard (200..<300).contains(response.status) else {
            return await passUpstreamError(response, headers: headers, record: record, request: request, logger: logger, carried: carried)
        }
        // Some OpenAI-compatible servers ignore `stream: true` and answer with one JSON body:
        // meter that as the whole answer it is.
        let answeredWhole = response.header("content-type")?.lowercased().hasPrefix("application/json") ?? false
        if summary.stream && !answeredWhole {
            var translator: (any StreamTranslator)?
            if carried {
                translator =
                    request.api == .chatCompletions
                    ? MessagesStreamToChat(includeUsage: summary.clientIncludesUsage, created: Int64(Date().timeIntervalSince1970)) as any StreamTranslator
                    : ChatStreamToMessages()
            }
            let relay = StreamRelay(
                gateway: self, request: request, record: record, body: response.body, hideUsageChunk: hideUsageChunk,
                upstreamAPI: carried ? FormatBridge.upstreamAPI(for: request.api) : nil, translator: translator,
                unseenReasoningBound: Self.unseenReasoningBound(summary, model: record.servedModel ?? record.requestedModel), logger: logger
            )
            return GatewayResponse(status: response.status, headers: headers, body: .stream(relay))
        }
        return await completeWhole(response, headers: headers, record: record, request: request, logger: logger, carried: carried)
    }

    /// The output a request that reasons may spend without streaming it: its output limit
    /// (or 4,096 when it sets none), when it asks for reasoning or its model reasons unasked
    /// (OpenAI's o-series, GPT-5 and Codex models); nil for a request that does not reason.
    static func unseenReasoningBound(_ summary: RequestSummary, model: String) -> Int64? {
        let name = model.split(separator: "/").last.map(String.init)?.lowercased() ?? ""
        let reasonsUnasked = ["o1", "o3", "o4", "gpt-5", "codex"].contains { name.hasPrefix($0) } || name.contains("codex")
        let asks = summary.reasoning.map { !["none", "disabled"].contains($0.lowercased()) } ?? reasonsUnasked
        guard asks else { return nil }
        return summary.maxTokens ?? 4_096
    }

    /// `route|provider/model` of each deployment now above its route's price ceiling.
    public var aboveCeiling: Set<String> { ceilings.current }

    /// Reports deployments that went above the route's price ceiling, or came back under it.
    func watchCeiling(_ route: ModelRoute, requested: String, _ aboveCeiling: [(deployment: RoutedDeployment, price: ModelPrice)]) {
        for event in ceilings.update(route: route, requested: requested, aboveCeiling: aboveCeiling, at: Date()) {
            notices?.deliver(.route(event))
        }
    }

    /// A non-streamed answer: read it whole, meter it, pass it on unchanged.
    func completeWhole(
        _ response: UpstreamResponse, headers: [(name: String, value: String)], record: RequestRecord, request: GatewayRequest, logger: Logger,
        carried: Bool = false
    ) async -> GatewayResponse {
        var record = record
        var meter = UsageMeter(api: carried ? FormatBridge.upstreamAPI(for: request.api) ?? request.api : request.api)
        let buffer: ByteBuffer
        do {
            buffer = try await response.body.collect(upTo: limits.maxResponseBytes)
        } catch {
            return refuseWhole(
                record, status: .cut, reason: "the provider's response was cut short", request: request, logger: logger,
                failure: .upstreamUnavailable(record.provider ?? "upstream", "the response was cut short")
            )
        }
        let bytes = Array(buffer.readableBytesView)
        let readable = meter.observe(body: bytes)
        guard request.api == .countTokens || readable else {
            // A success status with a body that is not JSON: the client gets a clear error in
            // its own format instead of bytes its SDK cannot read.
            return refuseWhole(
                record, status: .failed, reason: "the provider's response was not valid JSON", request: request, logger: logger,
                failure: GatewayError(
                    status: 502,
                    message:
                        "The provider '\(record.provider ?? "upstream")' answered with a malformed body (not valid JSON). Try again; the call was recorded.",
                    code: "upstream_malformed_response")
            )
        }
        record.httpStatus = response.status
        if let usage = meter.usage {
            record.usage = usage
        } else if request.api == .countTokens {
            record.usage = .zero
        } else {
            record.usage = meter.estimatedUsage(inputEstimate: record.inputEstimate)
            record.usageEstimated = true
            record.error = meter.implausibleUsage.map(RequestRecord.implausibleUsageError) ?? "the provider's response had no readable usage"
        }
        record.noteResponse(meter)
        guard carried else {
            let metered = record
            let settlement = DeferredSettlement { [self] in
                var record = metered
                settle(&record, request: request, logger: logger)
            }
            return GatewayResponse(status: response.status, headers: headers, body: .buffer(buffer), settlement: settlement)
        }
        do {
            let answer =
                request.api == .messages
                ? try OpenAIForAnthropic.response(bytes) : try MessagesToChat.response(bytes, created: Int64(Date().timeIntervalSince1970))
            settle(&record, request: request, logger: logger)
            return GatewayResponse(
                status: response.status, headers: headers.filter { $0.name != "content-type" } + [("content-type", "application/json")], body: .bytes(answer))
        } catch {
            return refuseWhole(
                record, status: .failed, reason: "the Anthropic answer could not be carried back", request: request, logger: logger,
                failure: GatewayError(
                    status: 502,
                    message:
                        "The provider '\(record.provider ?? "upstream")' answered in a form Strates could not carry back to the chat format: \(error.message) The call was recorded.",
                    code: "upstream_malformed_response")
            )
        }
    }

    /// A whole answer that cannot be passed on: the call may have been charged, so it is
    /// metered as an estimate, and the client gets a 502 in its own format.
    func refuseWhole(_ record: RequestRecord, status: RequestStatus, reason: String, request: GatewayRequest, logger: Logger, failure: GatewayError)
        -> GatewayResponse
    {
        var record = record
        record.status = status
        record.httpStatus = failure.statusCode
        record.usage = Usage(input: record.inputEstimate)
        record.usageEstimated = true
        record.error = reason
        settle(&record, request: request, logger: logger)
        metrics.recordUpstreamError(provider: record.provider ?? "none", status: failure.statusCode)
        return GatewayResponse(
            status: failure.statusCode, headers: [("content-type", "application/json"), ("x-strates-request-id", record.id)],
            body: .bytes(failure.body(format: request.api.errorFormat)))
    }

    /// An upstream error status: recorded, and passed back as the provider sent it (it is
    /// already in the caller's format, since the provider speaks the same API).
    func passUpstreamError(
        _ response: UpstreamResponse, headers: [(name: String, value: String)], record: RequestRecord, request: GatewayRequest, logger: Logger,
        carried: Bool = false
    ) async -> GatewayResponse {
        var record = record
        record.status = .failed
        record.httpStatus = response.status
        metrics.recordUpstreamError(provider: record.provider ?? "none", status: response.status)
        let collected = try? await response.body.collect(upTo: 1 << 20)
        var bytes = collected.map { Array($0.readableBytesView) } ?? []
        var headers = headers
        if carried {
            // The provider's error in the client's own API shape.
            bytes = request.api == .messages ? OpenAIForAnthropic.error(bytes, status: response.status) : MessagesToChat.error(bytes, status: response.status)
            headers.removeAll { $0.name == "content-type" }
            headers.append(("content-type", "application/json"))
        } else if (try? JSONView(object: bytes)) == nil {
            // Not JSON: wrap it so the client's SDK still gets its own error shape.
            let snippet = String(decoding: bytes.prefix(300), as: UTF8.self)
            let wrapped = GatewayError(
                status: response.status, message: "The provider '\(record.provider ?? "upstream")' answered \(response.status): \(snippet)")
            bytes = wrapped.body(format: request.api.errorFormat)
            headers.removeAll { $0.name == "content-type" }
            headers.append(("content-type", "application/json"))
        }
        record.error = "upstream status \(response.status)"
        settle(&record, request: request, logger: logger)
        return GatewayResponse(status: response.status, headers: headers, body: .bytes(bytes))
    }

    /// `count_tokens` for a model whose provider has no such endpoint: an estimate.
    func countTokensLocally(record: RequestRecord, summary: RequestSummary, request: GatewayRequest) -> GatewayResponse {
        let body = Array(#"{"input_tokens":\#(summary.estimatedInputTokens)}"#.utf8)
        return GatewayResponse(
            status: 200, headers: [("content-type", "application/json"), ("x-strates-request-id", record.id), ("x-strates-estimated", "true")],
            body: .bytes(body))
    }

    /// The controls a routed request must pass, in order: model access policies (403),
    /// rate limits (429), production reserves (429 for personal and sandbox traffic), the
    /// member's grants for personal use (429), budgets (429, or a lower max tokens). A
    /// refusal is recorded in the ledger as rejected, and gives back what earlier controls took.
    func control(_ record: inout RequestRecord, budgets covering: [Budget], summary: RequestSummary, request: GatewayRequest, logger: Logger)
        async throws(GatewayError) -> (RateAdmission, BudgetAdmission)
    {
        guard request.api != .countTokens else { return (.unlimited, .unrestricted) }
        do {
            try runs?.admit(record)
            try policies?.check(record)
            let rates = try rateLimits?.admit(record, summary: summary, api: request.api) ?? .unlimited
            try await reserves?.admit(record, summary: summary, api: request.api)
            record.grantID = try await grants?.admit(record, summary: summary, api: request.api)
            let admission = try await budgets?.admit(record, budgets: covering, summary: summary, api: request.api) ?? .unrestricted
            return (rates, admission)
        } catch {
            record.status = .rejected
            record.httpStatus = error.statusCode
            record.error = error.code.map { "refused: \($0)" } ?? "refused"
            settle(&record, request: request, logger: logger)
            throw error
        }
    }

    /// Gives back what the controls hold for a finished request: its rate-limit slot at
    /// once, its budget reservation settled to what it used (off the request path).
    func releaseControls(_ record: RequestRecord, executor: (any TaskExecutor)?) {
        rateLimits?.release(record)
        reserves?.release(record, executor: executor)
        if record.grantID != nil { grants?.settle(record) }
        guard let budgets, !budgets.covering(record.attribution).isEmpty else { return }
        Task(executorPreference: executor) { await budgets.settle(record) }
    }

    /// Prices the record, finishes it in the ledger, and emits metrics.
    func settle(_ record: inout RequestRecord, request: GatewayRequest, logger: Logger) {
        let elapsed = ContinuousClock.now - request.receivedAt
        record.endedAt = Date()
        record.latencyMs = elapsed.milliseconds
        record.cost = record.status == .rejected ? NanoUSD.zero : pricing.cost(of: record)
        do {
            try ledger.finish(record)
        } catch {
            logger.error("ledger journal write failed", metadata: ["error": "\(error)"])
        }
        releaseControls(record, executor: request.executor)
        if let runs, record.attribution.run != nil {
            for flag in runs.observe(record, body: request.body) { notices?.deliver(.runaway(flag, runs.policy)) }
        }
        if let api = APIKind(rawValue: record.api) { metrics.recordRequest(record, api: api) }
        // Built only when the level lets the line out (the argument is an autoclosure).
        switch record.status {
        case .completed, .rejected: logger.debug("request", metadata: record.logMetadata)
        case .failed, .cut, .interrupted: logger.notice("request \(record.status.rawValue): \(record.error ?? "")", metadata: record.logMetadata)
        }
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
