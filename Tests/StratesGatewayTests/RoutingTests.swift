import Foundation
import Logging
import NIOCore
import StratesLedger
import StratesTestSupport
import StratesWire
import Synchronization
import Testing

@testable import StratesAnalytics
@testable import StratesCore
@testable import StratesGateway
@testable import StratesProviders
@testable import StratesServer

@Suite struct RoutePlannerTests {
    let a = Deployment(provider: "a", model: "m1", weight: 3)
    let b = Deployment(provider: "b", model: "m2", weight: 1)
    let c = Deployment(provider: "c", weight: 0)

    func order(_ strategy: RouteStrategy, _ standings: [String: DeploymentStanding] = [:], seed: UInt64 = 1) -> [String] {
        var random = SimRandom(seed: seed)
        let route = ModelRoute(pattern: "fast", deployments: [a, b, c], strategy: strategy)
        return RoutePlanner.order(route, requested: "fast", standings: standings, now: at("2026-11-20"), random: &random).map { $0.name(for: "fast") }
    }

    @Test func fallbackKeepsTheConfiguredOrderAndCoolingGoesLast() {
        #expect(order(.fallback) == ["a/m1", "b/m2", "c/fast"])
        let cooling = ["a/m1": DeploymentStanding(coolingUntil: at("2026-11-21"))]
        #expect(order(.fallback, cooling) == ["b/m2", "c/fast", "a/m1"])
        // A cool-down that has ended no longer counts.
        #expect(order(.fallback, ["a/m1": DeploymentStanding(coolingUntil: at("2026-11-19"))]) == ["a/m1", "b/m2", "c/fast"])
    }

    @Test func weightedPicksInProportionAndNeverPicksZeroWeightFirst() {
        var firsts: [String: Int] = [:]
        for seed in 0..<4_000 { firsts[order(.weighted, seed: UInt64(seed))[0], default: 0] += 1 }
        #expect(firsts["c/fast"] == nil)
        let share = Double(firsts["a/m1"] ?? 0) / 4_000
        #expect(abs(share - 0.75) < 0.03, "a first in \(share) of plans, weight says 0.75")
        // Every deployment is still in every plan, as a fallback.
        #expect(Set(order(.weighted, seed: 9)) == ["a/m1", "b/m2", "c/fast"])
    }

    @Test func leastLatencyMeasuresTheUnmeasuredFirstThenGoesFastest() {
        let latencies = ["a/m1": DeploymentStanding(latencyMs: 80), "b/m2": DeploymentStanding(latencyMs: 20)]
        #expect(order(.leastLatency, latencies) == ["c/fast", "b/m2", "a/m1"])
        let all = latencies.merging(["c/fast": DeploymentStanding(latencyMs: 50)]) { $1 }
        #expect(order(.leastLatency, all) == ["b/m2", "c/fast", "a/m1"])
    }

    @Test func lowestCostGoesCheapestFirstAndUnpricedLast() {
        let prices = ["a/m1": DeploymentStanding(price: 900), "b/m2": DeploymentStanding(price: 300)]
        #expect(order(.lowestCost, prices) == ["b/m2", "a/m1", "c/fast"])
    }

    @Test func failuresAreClassified() {
        #expect(AttemptFailure(status: 429, retryAfter: 2) == .rateLimited(retryAfter: 2))
        #expect(AttemptFailure(status: 503, retryAfter: nil) == .serverError(status: 503))
        #expect(!AttemptFailure(status: 400, retryAfter: nil).isRetryable && AttemptFailure(status: 529, retryAfter: nil).isRetryable)
        #expect(AttemptFailure.timeout.text == "timeout" && AttemptFailure.rateLimited(retryAfter: nil).text == "429")
    }

    @Test func backoffGrowsWithJitterUnderItsCapAndHonoursShortRetryAfter() {
        let backoff = RetryBackoff(baseSeconds: 0.25, capSeconds: 2, maxRetryAfterSeconds: 10)
        var random = SeededRandom(3)
        for retry in 0..<8 {
            let ceiling = min(2, 0.25 * Double(1 << retry))
            for _ in 0..<200 {
                let delay = backoff.delay(before: retry, after: .serverError(status: 503), random: &random)!
                #expect(delay >= 0 && delay <= ceiling)
            }
        }
        #expect(backoff.delay(before: 0, after: .rateLimited(retryAfter: 3), random: &random) == 3)
        #expect(backoff.delay(before: 0, after: .rateLimited(retryAfter: 30), random: &random) == nil)
    }

    @Test func healthCoolsAfterRepeatedFailuresOrAtOnceOnA429() {
        let health = DeploymentHealth(failuresToCool: 3, cooldownSeconds: 30)
        let now = at("2026-11-20")
        health.failed("x", .serverError(status: 500), at: now)
        health.failed("x", .timeout, at: now)
        #expect(health.standings(["x"])["x"]?.coolingUntil == nil)
        health.failed("x", .connection, at: now)
        #expect(health.standings(["x"])["x"]?.coolingUntil == now.addingTimeInterval(30))
        health.succeeded("x", latencyMs: 10)
        #expect(health.standings(["x"])["x"]?.coolingUntil == nil && health.standings(["x"])["x"]?.latencyMs == 10)
        health.failed("y", .rateLimited(retryAfter: 90), at: now)
        #expect(health.standings(["y"])["y"]?.coolingUntil == now.addingTimeInterval(90))
        // A bad request says nothing about the deployment.
        for _ in 0..<5 { health.failed("z", .clientError(status: 400), at: now) }
        #expect(health.standings(["z"])["z"] == nil)
    }
}

@Suite struct FallbackPipelineTests {
    static func sim(_ name: String, fault: SimFault? = nil) -> SimProvider {
        var settings = SimSettings()
        settings.fault = fault
        settings.hangMs = 5_000
        return SimProvider(name: name, defaults: settings)
    }

    func call(_ harness: PipelineHarness, _ model: String) async -> GatewayResponse {
        await harness.gateway.handleSettled(
            harness.request(.chatCompletions, #"{"model":"\#(model)","max_tokens":20,"messages":[]}"#), logger: Logger(label: "test"))
    }

    func header(_ response: GatewayResponse, _ name: String) -> String? { response.headers.first { $0.name == name }?.value }

    @Test func aFailingDeploymentFallsBackBeforeTheClientSeesAnything() async throws {
        let route = ModelRoute(
            pattern: "fast", deployments: [Deployment(provider: "down", model: "gpt-4o-mini"), Deployment(provider: "up", model: "gpt-4o-mini")])
        let harness = try await PipelineHarness(routes: [route], providers: [Self.sim("down", fault: .unavailable), Self.sim("up")])
        let response = await call(harness, "fast")
        #expect(response.status == 200)
        #expect(header(response, "x-strates-deployment") == "up/gpt-4o-mini" && header(response, "x-strates-fallbacks") == "1")
        let record = try #require(try await harness.stored().first)
        #expect(record.provider == "up" && record.route == "fast" && record.failedAttempts == "down/gpt-4o-mini: 503")
        #expect(record.status == .completed && record.cost != nil)

        // Three failures in a row cool the deployment down: then it is tried last, not first.
        _ = await call(harness, "fast")
        _ = await call(harness, "fast")
        let cooled = await call(harness, "fast")
        #expect(cooled.status == 200 && header(cooled, "x-strates-fallbacks") == nil)
    }

    @Test func aTimeoutMovesOnAndWhenAllFailTheLastAnswerStands() async throws {
        let slow = Deployment(provider: "slow", model: "gpt-4o-mini", timeoutSeconds: 0.2)
        let route = ModelRoute(pattern: "fast", deployments: [slow, Deployment(provider: "broken", model: "gpt-4o-mini")])
        let harness = try await PipelineHarness(routes: [route], providers: [Self.sim("slow", fault: .timeout), Self.sim("broken", fault: .serverError)])
        let started = ContinuousClock.now
        let response = await call(harness, "fast")
        #expect(ContinuousClock.now - started < .seconds(3))
        // The last deployment's own 500 goes back as the provider sent it.
        #expect(response.status == 500)
        let record = try #require(try await harness.stored().first)
        #expect(record.status == .failed && record.provider == "broken" && record.failedAttempts == "slow/gpt-4o-mini: timeout")
    }

    @Test func retriesWaitOnTheSameDeploymentAndGiveUpOnALongRetryAfter() async throws {
        // One deployment, two retries; its 429 asks for 1 s, more than this gateway waits: the 429 stands at once.
        let route = ModelRoute(pattern: "solo", deployments: [Deployment(provider: "limited", model: "gpt-4o-mini")], retries: 2)
        let harness = try await PipelineHarness(
            routes: [route], providers: [Self.sim("limited", fault: .rateLimited)], backoff: RetryBackoff(maxRetryAfterSeconds: 0.5)
        )
        let response = await call(harness, "solo")
        #expect(response.status == 429)
        let record = try #require(try await harness.stored().first)
        #expect(record.failedAttempts == nil && record.status == .failed)

        // Waited for: each retry is an attempt, and the last answer stands.
        let patient = try await PipelineHarness(
            routes: [route], providers: [Self.sim("limited", fault: .rateLimited)], backoff: RetryBackoff(maxRetryAfterSeconds: 5)
        )
        let started = ContinuousClock.now
        let waited = await call(patient, "solo")
        #expect(waited.status == 429 && ContinuousClock.now - started >= .seconds(2))
        #expect(try await patient.stored().first?.failedAttempts == "limited/gpt-4o-mini: 429; limited/gpt-4o-mini: 429")
    }
}

@Suite struct CacheAffinityTests {
    let deployments = [
        Deployment(provider: "openai", model: "gpt-4o"), Deployment(provider: "azure", model: "gpt-4o"),
        Deployment(provider: "openai", model: "gpt-4o-2024-11-20"),
    ]

    func names(_ list: [Deployment]) -> [String] { list.map { $0.name(for: "smart") } }

    @Test func theHeldDeploymentGoesFirstThenItsProvider() {
        let held = RoutePlanner.preferring("openai/gpt-4o-2024-11-20", provider: "openai", in: deployments, requested: "smart", cooling: [])
        #expect(names(held) == ["openai/gpt-4o-2024-11-20", "openai/gpt-4o", "azure/gpt-4o"])
        let azure = RoutePlanner.preferring("azure/gpt-4o", provider: "azure", in: deployments, requested: "smart", cooling: [])
        #expect(names(azure) == ["azure/gpt-4o", "openai/gpt-4o", "openai/gpt-4o-2024-11-20"])
        // A cooling deployment is not preferred, and stays last.
        let cooling = RoutePlanner.preferring("azure/gpt-4o", provider: "azure", in: deployments, requested: "smart", cooling: ["azure/gpt-4o"])
        #expect(names(cooling) == names(deployments))
        let gone = RoutePlanner.preferring("other/x", provider: "other", in: deployments, requested: "smart", cooling: [])
        #expect(names(gone) == names(deployments))
    }

    @Test func aRunStaysOnItsDeploymentUnderAWeightedRoute() async throws {
        let route = ModelRoute(
            pattern: "smart", deployments: [Deployment(provider: "a", model: "gpt-4o"), Deployment(provider: "b", model: "gpt-4o")], strategy: .weighted
        )
        let harness = try await PipelineHarness(routes: [route], providers: [FallbackPipelineTests.sim("a"), FallbackPipelineTests.sim("b")])
        func served(run: String) async -> String? {
            let response = await harness.gateway.handleSettled(
                harness.request(.chatCompletions, #"{"model":"smart","max_tokens":10,"messages":[]}"#, headers: [("x-strates-run", run)]),
                logger: Logger(label: "test")
            )
            return response.headers.first { $0.name == "x-strates-deployment" }?.value
        }
        var byRun: [String: Set<String>] = [:]
        let runs = (1...16).map { "r\($0)" }
        for round in 0..<6 {
            for run in runs { byRun[run, default: []].insert(await served(run: run) ?? "none-\(round)") }
        }
        #expect(byRun.values.allSatisfy { $0.count == 1 }, "\(byRun)")
        // Across runs both deployments are used (weights 1:1: 16 runs all on one side is 1 in 32,768).
        #expect(Set(byRun.values.flatMap { $0 }) == ["a/gpt-4o", "b/gpt-4o"])
    }
}

/// An upstream whose model has a small context window: it refuses every request as too
/// long, in OpenAI's words, and counts its calls.
final class SmallWindowProvider: Provider {
    let name: String
    var kind: ProviderKind { .openAI }
    let calls = Mutex(0)

    init(name: String) { self.name = name }

    func send(_ request: UpstreamRequest, logger: Logger) async throws -> UpstreamResponse {
        calls.withLock { $0 += 1 }
        let body =
            #"{"error":{"message":"This model's maximum context length is 8192 tokens. However, your messages resulted in 9001 tokens.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}"#
        return UpstreamResponse(status: 400, headers: [("content-type", "application/json")], body: .bytes(ByteBuffer(string: body)))
    }
}

@Suite struct ContextLengthFallbackTests {
    @Test func aRequestTooLongMovesToALargerModelWithoutRetryingTheSmallOne() async throws {
        let small = SmallWindowProvider(name: "small")
        let route = ModelRoute(
            pattern: "long",
            deployments: [
                Deployment(provider: "small", model: "gpt-4", contextTokens: 8_192),
                Deployment(provider: "tiny", model: "gpt-4o-mini", contextTokens: 4_096),  // smaller: skipped
                Deployment(provider: "big", model: "gpt-4.1", contextTokens: 1_000_000),
            ], retries: 2
        )
        let harness = try await PipelineHarness(routes: [route], providers: [small, FallbackPipelineTests.sim("tiny"), FallbackPipelineTests.sim("big")])
        let response = await harness.gateway.handleSettled(
            harness.request(.chatCompletions, #"{"model":"long","max_tokens":10,"messages":[]}"#), logger: Logger(label: "test"))
        #expect(response.status == 200)
        #expect(small.calls.withLock { $0 } == 1)
        let record = try #require(try await harness.stored().first)
        #expect(record.provider == "big" && record.failedAttempts == "small/gpt-4: context_length")
        // Not the deployment's fault: it is not cooled down.
        #expect(harness.gateway.health.standings(["small/gpt-4"])["small/gpt-4"]?.coolingUntil == nil)
    }

    @Test func anOrdinaryBadRequestGoesStraightBackWithItsBody() async throws {
        struct Refuses: Provider {
            let name = "strict"
            var kind: ProviderKind { .openAI }
            func send(_ request: UpstreamRequest, logger: Logger) async throws -> UpstreamResponse {
                UpstreamResponse(
                    status: 400, headers: [],
                    body: .bytes(
                        ByteBuffer(
                            string: #"{"error":{"message":"temperature must be at most 2","type":"invalid_request_error","param":"temperature","code":null}}"#))
                )
            }
        }
        let route = ModelRoute(pattern: "m", deployments: [Deployment(provider: "strict", model: "gpt-4o"), Deployment(provider: "other", model: "gpt-4o")])
        let harness = try await PipelineHarness(routes: [route], providers: [Refuses(), FallbackPipelineTests.sim("other")])
        let response = await harness.gateway.handleSettled(
            harness.request(.chatCompletions, #"{"model":"m","max_tokens":10,"messages":[]}"#), logger: Logger(label: "test"))
        #expect(response.status == 400)
        guard case .bytes(let bytes) = response.body else {
            Issue.record("expected the provider's body")
            return
        }
        #expect(String(decoding: bytes, as: UTF8.self).contains("temperature must be at most 2"))
        #expect(try await harness.stored().first?.failedAttempts == nil)
    }

    @Test func overflowWordingFromEachProvider() {
        for text in [
            #"{"error":{"code":"context_length_exceeded"}}"#,
            #"{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 210000 tokens > 200000 maximum"}}"#,
            "This model's maximum context length is 128000 tokens",
        ] { #expect(AttemptFailure.isContextOverflow(Array(text.utf8)), "\(text)") }
        #expect(!AttemptFailure.isContextOverflow(Array(#"{"error":{"message":"temperature must be at most 2"}}"#.utf8)))
    }
}

@Suite struct RoutingReportTests {
    func row(
        _ route: String, provider: String, served: String, requested: String? = nil, failed: Bool = false, fellBack: Bool = false,
        requests: Int64, usage: Usage, cost: Int64
    ) -> RoutingUsageRow {
        RoutingUsageRow(
            route: route, requestedModel: requested ?? route, provider: provider, servedModel: served, serviceTier: nil, day: at("2026-11-20"),
            failed: failed, fellBack: fellBack, requests: requests, usage: usage, cost: cost, unknownCost: 0
        )
    }

    @Test func groupsByRouteAndPricesSavingsAndCaching() {
        let rows = [
            row("fast", provider: "openai", served: "gpt-4o-mini", requests: 8, usage: Usage(input: 1_000, output: 500, cacheRead: 9_000), cost: 100),
            row("fast", provider: "sim", served: "gpt-4o-mini", fellBack: true, requests: 2, usage: Usage(input: 100, output: 50), cost: 10),
            row("fast", provider: "sim", served: "gpt-4o-mini", failed: true, fellBack: true, requests: 1, usage: .zero, cost: 0),
            row("gpt-4o", provider: "openai", served: "gpt-4o", requests: 3, usage: Usage(input: 10, output: 10), cost: 50),
        ]
        let reasons = [("fast", "openai/gpt-4o-mini: 503", Int64(2)), ("fast", "openai/gpt-4o-mini: 503; x/y: timeout", Int64(1))]
        // A toy price: 1 per input token, 2 per cached token... read as nano-USD; the baseline costs double.
        let report = RoutingReport.make(
            since: at("2026-11-01"), until: at("2026-12-01"), rows: rows, reasons: reasons.map { (route: $0.0, attempts: $0.1, count: $0.2) }
        ) { _, usage, baseline in
            let cost = usage.input + usage.cacheRead / 10 + usage.output * 4
            return NanoUSD(baseline ? cost * 2 : cost)
        }
        #expect(report.lines.map(\.route) == ["fast", "gpt-4o"])
        let fast = report.lines[0]
        #expect(fast.requests == 11 && fast.errors == 1 && fast.fellBack == 3 && fast.spend == 110)
        #expect(fast.deployments.map(\.name) == ["openai/gpt-4o-mini", "sim/gpt-4o-mini"] && fast.deployments.map(\.requests) == [8, 3])
        #expect(fast.reasons.map(\.attempts) == ["openai/gpt-4o-mini: 503", "openai/gpt-4o-mini: 503; x/y: timeout"])
        #expect(abs(fast.cacheReadShare - 9_000.0 / 10_100.0) < 1e-9)
        // Caching: 9,000 cached tokens at 0.1 instead of 1: 8,100 saved.
        #expect(fast.cachingSaved == 8_100)
        // Baseline at double the price: savings equal the actual cost of the priced rows.
        #expect(fast.savings == (1_000 + 900 + 2_000) + (100 + 200))
        let csv = APICSV.text(report).split(separator: "\n")
        #expect(csv.count == 1 + 3 && csv[1].hasPrefix("fast,openai/gpt-4o-mini,8,"))
        #expect(report.table.contains { $0.first == "  after openai/gpt-4o-mini: 503" })
    }
}

@Suite struct RoutingRuleTests {
    func features(
        model: String = "gpt-4o", process: String? = nil, environment: Environment = .production, input: Int64 = 1_000, maxTokens: Int64? = nil,
        tools: Bool = false, reasoning: String? = nil, images: Bool = false
    ) -> RequestFeatures {
        RequestFeatures(
            model: model, attribution: Attribution(organization: "o", team: "platform", member: "ana", environment: environment, process: process),
            inputTokens: input, maxTokens: maxTokens, hasTools: tools, reasoning: reasoning, hasImages: { images }
        )
    }

    @Test func conditionsAllHoldAndTheFirstRuleWins() {
        let rules = [
            RoutingRule(name: "planner", conditions: [.attribute("process", pattern: "plan*")], route: "smart"),
            RoutingRule(name: "sandbox", conditions: [.attribute("environment", pattern: "sandbox")], route: "sim"),
            RoutingRule(name: "long", models: "gpt-*", conditions: [.inputTokensOver(100_000)], route: "long"),
            RoutingRule(name: "agentic", conditions: [.tools(true), .reasoning("any")], route: "smart"),
            RoutingRule(name: "vision", conditions: [.images(true), .maxTokensOver(1_000)], route: "vision"),
        ]
        func pick(_ request: RequestFeatures) -> String? { RoutingRule.first(rules, matching: request)?.name }
        #expect(pick(features(process: "planner")) == "planner")
        #expect(pick(features(process: "planner", environment: .sandbox)) == "planner")
        #expect(pick(features(process: "summarizer", environment: .sandbox)) == "sandbox")
        #expect(pick(features(input: 150_000)) == "long")
        #expect(pick(features(model: "claude-sonnet-4-5", input: 150_000)) == nil)
        #expect(pick(features(tools: true)) == nil)
        #expect(pick(features(tools: true, reasoning: "high")) == "agentic")
        #expect(pick(features(maxTokens: 2_000, images: true)) == "vision")
        #expect(pick(features(maxTokens: 500, images: true)) == nil)
        #expect(rules[3].summary == "tools, reasoning=any → smart" && rules[2].summary == "model=gpt-*, input_tokens>100000 → long")
    }

    @Test func imagesAreOnlyLookedForWhenARuleAsks() {
        let looked = Mutex(0)
        let request = RequestFeatures(
            model: "m", attribution: Attribution(organization: "o", environment: .production), inputTokens: 1, maxTokens: nil, hasTools: false,
            reasoning: nil,
            hasImages: {
                looked.withLock { $0 += 1 }
                return true
            }
        )
        _ = RoutingRule(name: "a", conditions: [.tools(true), .images(true)], route: "x").matches(request)
        _ = RoutingRule(name: "b", conditions: [.inputTokensOver(0)], route: "x").matches(request)
        #expect(looked.withLock { $0 } == 0)
        #expect(RoutingRule(name: "c", conditions: [.images(true)], route: "x").matches(request) && looked.withLock { $0 } == 1)
    }

    @Test func requestFeaturesAreReadFromEachAPIsBody() throws {
        let chat = try RequestSummary.inspect(
            Array(#"{"model":"o3","reasoning_effort":"high","tools":[{"type":"function","function":{"name":"f"}}],"messages":[]}"#.utf8), api: .chatCompletions)
        #expect(chat.hasTools && chat.reasoning == "high")
        let responses = try RequestSummary.inspect(Array(#"{"model":"o3","reasoning":{"effort":"low"},"tools":[],"input":"x"}"#.utf8), api: .responses)
        #expect(!responses.hasTools && responses.reasoning == "low")
        let messages = try RequestSummary.inspect(
            Array(#"{"model":"claude","thinking":{"type":"enabled","budget_tokens":2048},"max_tokens":4096,"messages":[]}"#.utf8), api: .messages)
        #expect(messages.reasoning == "enabled" && !messages.hasTools)
        #expect(RequestSummary.mentionsImages(Array(#"{"messages":[{"content":[{"type":"image_url","image_url":{"url":"data:"}}]}]}"#.utf8)))
        #expect(RequestSummary.mentionsImages(Array(#"{"messages":[{"content":[{"type": "image","source":{}}]}]}"#.utf8)))
        #expect(!RequestSummary.mentionsImages(Array(#"{"messages":[{"content":"an image of a cat"}]}"#.utf8)))
    }

    @Test func aRuleSendsTheRequestToItsRouteAndTheLedgerSaysWhich() async throws {
        let routes = [
            ModelRoute(pattern: "smart", deployments: [Deployment(provider: "strong", model: "gpt-4.1")]),
            ModelRoute(pattern: "*", provider: "cheap"),
        ]
        let harness = try await PipelineHarness(routes: routes, providers: [FallbackPipelineTests.sim("strong"), FallbackPipelineTests.sim("cheap")])
        let router = ModelRouter(
            routes: routes, providers: [FallbackPipelineTests.sim("strong"), FallbackPipelineTests.sim("cheap")],
            rules: [RoutingRule(name: "planner-smart", conditions: [.attribute("process", pattern: "planner")], route: "smart")]
        )
        let gateway = Gateway(
            authenticator: harness.gateway.authenticator, router: router, ledger: harness.writer, pricing: Pricing(PriceCatalog.builtIn()),
            metrics: harness.gateway.metrics
        )
        let planned = await gateway.handleSettled(
            harness.request(.chatCompletions, #"{"model":"gpt-4o-mini","max_tokens":10,"messages":[]}"#, headers: [("x-strates-process", "planner")]),
            logger: Logger(label: "test")
        )
        let plain = await gateway.handleSettled(
            harness.request(.chatCompletions, #"{"model":"gpt-4o-mini","max_tokens":10,"messages":[]}"#), logger: Logger(label: "test"))
        #expect(planned.status == 200 && plain.status == 200)
        let records = try await harness.stored().sorted { $0.startedAt < $1.startedAt }
        let byRule = try #require(records.first { $0.routingRule != nil })
        #expect(byRule.routingRule == "planner-smart" && byRule.route == "smart" && byRule.provider == "strong" && byRule.servedModel == "gpt-4.1")
        #expect(byRule.requestedModel == "gpt-4o-mini")
        let other = try #require(records.first { $0.routingRule == nil })
        #expect(other.provider == "cheap" && other.route == nil)
    }
}

/// Keeps the notices a gateway sends.
final class NoticeRecorder: NoticeSink {
    let notices = Mutex([OperatorNotice]())
    func deliver(_ notice: OperatorNotice) { notices.withLock { $0.append(notice) } }
    var events: [RouteEvent] { notices.withLock { $0.compactMap(\.event) } }
}

@Suite struct PriceCeilingTests {
    static func catalog(small: String, tiny: String) -> PriceCatalog {
        var catalog = PriceCatalog()
        for (model, input) in [("x-small", small), ("x-tiny", tiny)] {
            catalog.add(
                ModelPrice(
                    provider: "openai", model: model, effectiveFrom: at("2026-01-01"), input: TokenRate(dollarsPerMillion: input)!,
                    output: TokenRate(dollarsPerMillion: "1")!))
        }
        return catalog
    }

    @Test func aPriceRiseMovesTrafficOnceReportedAndAllAboveIsRefused() async throws {
        let route = ModelRoute(
            pattern: "capped", deployments: [Deployment(provider: "a", model: "x-small"), Deployment(provider: "b", model: "x-tiny")],
            maxInputPrice: TokenRate(dollarsPerMillion: "0.50")
        )
        let pricing = Pricing(Self.catalog(small: "0.15", tiny: "0.10"))
        let recorder = NoticeRecorder()
        let harness = try await PipelineHarness(
            routes: [route], providers: [FallbackPipelineTests.sim("a"), FallbackPipelineTests.sim("b")], pricing: pricing, notices: recorder)
        func call() async -> GatewayResponse {
            await harness.gateway.handleSettled(
                harness.request(.chatCompletions, #"{"model":"capped","max_tokens":10,"messages":[]}"#), logger: Logger(label: "test"))
        }
        func served(_ response: GatewayResponse) -> String? { response.headers.first { $0.name == "x-strates-deployment" }?.value }

        #expect(served(await call()) == "a/x-small" && recorder.events.isEmpty)
        // The catalog is updated: x-small now costs $2 per million input tokens.
        pricing.replace(with: Self.catalog(small: "2", tiny: "0.10"))
        #expect(served(await call()) == "b/x-tiny")
        #expect(served(await call()) == "b/x-tiny")
        #expect(recorder.events.map(\.kind) == [.aboveCeiling] && recorder.events.first?.deployment == "a/x-small")
        #expect(recorder.events.first?.text.contains("above the route's ceiling of $0.500000 input per million tokens") == true)
        #expect(harness.gateway.aboveCeiling == ["capped|a/x-small"])

        pricing.replace(with: Self.catalog(small: "2", tiny: "3"))
        let refused = await call()
        #expect(refused.status == 403)
        guard case .bytes(let body) = refused.body else {
            Issue.record("expected an error body")
            return
        }
        let text = String(decoding: body, as: UTF8.self)
        #expect(text.contains("price_ceiling") && text.contains("Every deployment of route 'capped' is above its price ceiling"))

        pricing.replace(with: Self.catalog(small: "0.15", tiny: "0.10"))
        #expect(served(await call()) == "a/x-small")
        #expect(recorder.events.map(\.kind) == [.aboveCeiling, .aboveCeiling, .withinCeiling, .withinCeiling])
        #expect(harness.gateway.aboveCeiling.isEmpty)
    }
}

@Suite struct RouteDefinitionTests {
    func make(_ object: [String: Any], current: RouteDefinition? = nil) throws(RuleProblems) -> RouteDefinition {
        var fields = RuleFields(object, known: RouteDefinition.fields)
        return try RouteDefinition.make(from: &fields, current: current, id: "route_1", now: at("2026-11-20"))
    }

    @Test func readsTheAPIShapeAndKeepsWhatAChangeDoesNotName() throws {
        let made = try make([
            "name": "strates/fast", "strategy": "least-latency", "retries": 2, "max_output_usd_per_mtok": "5",
            "deployments": [
                ["provider": "openai", "model": "gpt-4.1-mini", "weight": 2, "timeout_seconds": 2.5, "context_tokens": 1_000_000], ["provider": "sim"],
            ],
        ])
        #expect(made.name == "strates/fast" && made.route.strategy == .leastLatency && made.route.retries == 2)
        #expect(made.route.maxOutputPrice == TokenRate(dollarsPerMillion: "5") && made.route.maxInputPrice == nil)
        #expect(
            made.route.deployments == [
                Deployment(provider: "openai", model: "gpt-4.1-mini", weight: 2, timeoutSeconds: 2.5, contextTokens: 1_000_000), Deployment(provider: "sim"),
            ])
        let changed = try make(["retries": 0, "max_output_usd_per_mtok": NSNull()], current: made)
        #expect(changed.route.retries == 0 && changed.route.maxOutputPrice == nil && changed.route.deployments == made.route.deployments)
        #expect(changed.createdAt == made.createdAt && changed.summary.hasPrefix("least-latency: openai/gpt-4.1-mini, sim/(as asked)"))
    }

    @Test func namesEveryProblem() {
        do {
            _ = try make([
                "name": "no spaces", "strategy": "fastest", "retries": 11, "scope": "team:x", "colour": "blue",
                "deployments": [["provider": ""], ["model": "m", "timeout_seconds": 0], "x"],
            ])
            Issue.record("expected problems")
        } catch {
            let text = "\(error)"
            for expected in [
                "unknown field 'colour'", "name 'no spaces'", "strategy 'fastest'", "'retries' must be 0 to 10", "scope is the organization",
                "deployments[0]: 'provider' is required", "deployments[1]: 'timeout_seconds'", "deployments[2] must be an object",
            ] {
                #expect(text.contains(expected), "missing \(expected) in \(text)")
            }
        }
        #expect(throws: RuleProblems.self) { try make(["name": "empty"]) }
    }
}

@Suite struct FirstTokenTimeoutTests {
    static func slow(_ name: String, ttftMs: Int) -> SimProvider {
        var settings = SimSettings()
        settings.timeToFirstTokenMs = ttftMs
        settings.outputTokensMin = 8
        settings.outputTokensMax = 8
        return SimProvider(name: name, defaults: settings)
    }

    func stream(_ harness: PipelineHarness, model: String, api: APIKind = .chatCompletions) async throws -> (GatewayResponse, [SSEEvent]) {
        let body =
            api == .messages
            ? #"{"model":"\#(model)","max_tokens":20,"stream":true,"messages":[{"role":"user","content":"hi"}]}"#
            : #"{"model":"\#(model)","max_tokens":20,"stream":true,"messages":[{"role":"user","content":"hi"}]}"#
        let response = await harness.gateway.handleSettled(harness.request(api, body), logger: Logger(label: "test"))
        guard case .stream(let relay) = response.body else { return (response, []) }
        var decoder = SSEDecoder()
        var events: [SSEEvent] = []
        try await relay.relay { chunk in events += decoder.feed(chunk.readableBytesView) }
        return (response, events)
    }

    @Test func aStreamSlowToItsFirstTokenMovesOnBeforeTheClientSeesIt() async throws {
        let route = ModelRoute(
            pattern: "fast",
            deployments: [
                Deployment(provider: "sluggish", model: "gpt-4o-mini", firstTokenTimeoutSeconds: 0.3), Deployment(provider: "quick", model: "gpt-4o-mini"),
            ])
        let harness = try await PipelineHarness(routes: [route], providers: [Self.slow("sluggish", ttftMs: 5_000), Self.slow("quick", ttftMs: 0)])
        let started = ContinuousClock.now
        let (response, events) = try await stream(harness, model: "fast")
        #expect(ContinuousClock.now - started < .seconds(2))
        #expect(response.headers.first { $0.name == "x-strates-deployment" }?.value == "quick/gpt-4o-mini")
        #expect(events.last?.dataText == "[DONE]")
        let record = try #require(try await harness.stored().first)
        #expect(record.failedAttempts == "sluggish/gpt-4o-mini: first_token_timeout" && record.status == .completed && record.usage.output == 8)
    }

    @Test func aStreamInTimeIsRelayedWholeAndMeteredExactly() async throws {
        let route = ModelRoute(
            pattern: "fast",
            deployments: [
                Deployment(provider: "steady", model: "claude-haiku-4-5", firstTokenTimeoutSeconds: 2),
                Deployment(provider: "spare", model: "claude-haiku-4-5"),
            ])
        let harness = try await PipelineHarness(routes: [route], providers: [Self.slow("steady", ttftMs: 100), Self.slow("spare", ttftMs: 0)])
        let (response, events) = try await stream(harness, model: "fast", api: .messages)
        #expect(response.headers.first { $0.name == "x-strates-deployment" }?.value == "steady/claude-haiku-4-5")
        #expect(events.first?.event == "message_start" && events.last?.event == "message_stop")
        let record = try #require(try await harness.stored().first)
        #expect(record.failedAttempts == nil && record.status == .completed && record.usage.output == 8)
        #expect((record.timeToFirstTokenMs ?? 0) >= 100, "ttft \(String(describing: record.timeToFirstTokenMs))")
    }
}

@Suite struct AutoRoutingTests {
    func features(input: Int64 = 500, maxTokens: Int64? = nil, tools: Bool = false, reasoning: String? = nil, images: Bool = false) -> RequestFeatures {
        RequestFeatures(
            model: "strates/auto", attribution: Attribution(organization: "o", environment: .production), inputTokens: input, maxTokens: maxTokens,
            hasTools: tools, reasoning: reasoning, hasImages: { images }
        )
    }

    @Test func requestsAreClassifiedByTheirFeatures() {
        #expect(TaskProfile.classify(features()).text == "chat/low")
        #expect(TaskProfile.classify(features(tools: true)).text == "agentic/medium")
        #expect(TaskProfile.classify(features(tools: true, images: true)).text == "vision/medium")
        #expect(TaskProfile.classify(features(reasoning: "high")).text == "reasoning/high")
        #expect(TaskProfile.classify(features(input: 40_000)).text == "long_context/medium")
        #expect(TaskProfile.classify(features(input: 100_000)).text == "long_context/high")
        #expect(TaskProfile.classify(features(maxTokens: 3_000)).text == "chat/medium")
    }

    @Test func theCheapestTierMeetingTheTargetWinsElseTheStrongest() throws {
        let policy = AutoRoutingPolicy(tiers: ["fast", "medium", "smart"], targetSuccess: 0.9, minimumSamples: 20, exploration: 0)
        let profile = TaskProfile(kind: .agentic, difficulty: .medium)
        var random = SeededRandom(1)
        let none = try #require(policy.choose(profile, records: [:], random: &random))
        #expect(none.tier == "smart" && none.reason.contains("no cheaper tier has shown 90% success on agentic/medium"))
        // fast is good but has too few samples; medium has enough.
        let records = ["fast": TierRecord(scoreSum: 10, samples: 10), "medium": TierRecord(scoreSum: 46, samples: 50)]
        let chosen = try #require(policy.choose(profile, records: records, random: &random))
        #expect(chosen.tier == "medium" && chosen.reason == "cheapest tier meeting 90% on agentic/medium: 92% over 50")
        let proven = try #require(policy.choose(profile, records: records.merging(["fast": TierRecord(scoreSum: 19, samples: 20)]) { $1 }, random: &random))
        #expect(proven.tier == "fast")
        let failing = try #require(policy.choose(profile, records: ["fast": TierRecord(scoreSum: 5, samples: 100)], random: &random))
        #expect(failing.tier == "smart")
    }

    @Test func aShareOfRequestsExploresCheaperTiers() throws {
        let policy = AutoRoutingPolicy(tiers: ["fast", "medium", "smart"], exploration: 0.1)
        var random = SeededRandom(9)
        var explored = 0
        for _ in 0..<10_000 {
            let choice = try #require(policy.choose(TaskProfile(kind: .chat, difficulty: .low), records: [:], random: &random))
            if choice.tier != "smart" {
                explored += 1
                #expect(choice.reason.hasPrefix("exploring"))
            }
        }
        #expect(abs(Double(explored) / 10_000 - 0.1) < 0.015, "explored \(explored)")
    }
}
