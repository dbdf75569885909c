import Foundation
import Logging
import StratesCore
import StratesGateway
import StratesLedger
import StratesProviders
import StratesServer
import Testing

/// `strates/auto` on the request path: the tier chosen from feedback in the ledger, the
/// decision and its reason recorded, tiers learned per task class, and the config that sets it up.
@Suite struct AutoRoutingPipelineTests {
    static let fast = ModelRoute(pattern: "fast", deployments: [Deployment(provider: "sim", model: "gpt-4o-mini")])
    static let smart = ModelRoute(pattern: "smart", deployments: [Deployment(provider: "sim", model: "gpt-4o")])
    static func auto(minimumSamples: Int = 3, exploration: Double = 0) -> ModelRoute {
        ModelRoute(
            pattern: "strates/auto", deployments: [],
            auto: AutoRoutingPolicy(tiers: ["fast", "smart"], targetSuccess: 0.8, minimumSamples: minimumSamples, exploration: exploration))
    }

    func call(_ harness: PipelineHarness, _ model: String, tools: Bool = false) async -> GatewayResponse {
        let tool = tools ? #","tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}]"# : ""
        return await harness.gateway.handleSettled(
            harness.request(.chatCompletions, #"{"model":"\#(model)","max_tokens":20,"messages":[{"role":"user","content":"hi"}]\#(tool)}"#),
            logger: Logger(label: "test")
        )
    }

    func header(_ response: GatewayResponse, _ name: String) -> String? { response.headers.first { $0.name == name }?.value }

    @Test func withoutScoresTheStrongestTierServesAndTheDecisionIsRecorded() async throws {
        let harness = try await PipelineHarness(routes: [Self.auto(), Self.fast, Self.smart], providers: [SimProvider()])
        let response = await call(harness, "strates/auto")
        #expect(response.status == 200 && header(response, "x-strates-auto-tier") == "smart")
        #expect(header(response, "x-strates-deployment") == "sim/gpt-4o")
        let record = try #require(try await harness.stored().first)
        #expect(record.route == "strates/auto" && record.autoTier == "smart" && record.taskClass == "chat/low")
        #expect(record.routingReason?.contains("no cheaper tier has shown 80% success on chat/low") == true)
        #expect(record.baselineModel == "sim/gpt-4o" && record.servedModel == "gpt-4o")
    }

    @Test func feedbackOnACheaperTierMovesThatTaskClassOnly() async throws {
        let harness = try await PipelineHarness(routes: [Self.auto(), Self.fast, Self.smart], providers: [SimProvider()])
        // Direct traffic to `fast` counts: its task class is kept when auto routing is on.
        var ids: [String] = []
        for _ in 0..<3 {
            let response = await call(harness, "fast")
            ids.append(try #require(header(response, "x-strates-request-id")))
        }
        await harness.writer.flush()
        for (index, id) in ids.enumerated() {
            try await harness.ledger.record(Feedback(id: "fb_\(index)", at: Date(), requestID: id, run: nil, score: index == 0 ? 0.7 : 1))
        }
        try await harness.gateway.refreshTierRecords(from: harness.ledger)
        #expect(harness.gateway.tierRecords.records["fast"]?["chat/low"] == TierRecord(scoreSum: 2.7, samples: 3))

        let cheap = await call(harness, "strates/auto")
        #expect(header(cheap, "x-strates-auto-tier") == "fast")
        #expect(header(cheap, "x-strates-routing-reason") == "cheapest tier meeting 80% on chat/low: 90% over 3")
        // Another task class has no record yet: it stays on the strongest tier.
        let agentic = await call(harness, "strates/auto", tools: true)
        #expect(header(agentic, "x-strates-auto-tier") == "smart")
        let records = try await harness.stored().filter { $0.route == "strates/auto" }
        #expect(Set(records.compactMap(\.taskClass)) == ["chat/low", "agentic/medium"])
        // Savings are measured against the baseline tier, whatever served.
        #expect(records.allSatisfy { $0.baselineModel == "sim/gpt-4o" })
    }

    @Test func runFeedbackScoresEveryRequestOfTheRun() async throws {
        let harness = try await PipelineHarness(routes: [Self.auto(minimumSamples: 4), Self.fast, Self.smart], providers: [SimProvider()])
        for _ in 0..<4 {
            _ = await harness.gateway.handleSettled(
                harness.request(.chatCompletions, #"{"model":"fast","max_tokens":20,"messages":[]}"#, headers: [("x-strates-run", "run-42")]),
                logger: Logger(label: "test")
            )
        }
        await harness.writer.flush()
        try await harness.ledger.record(Feedback(id: "fb_run", at: Date(), requestID: nil, run: "run-42", score: 1))
        let book = try await harness.ledger.tierRecords(since: Date() - 3_600)
        #expect(book.records["fast"]?["chat/low"] == TierRecord(scoreSum: 4, samples: 4))
        // Feedback older than the window does not count.
        #expect(try await harness.ledger.tierRecords(since: Date() + 3_600).records.isEmpty)
    }

    @Test func exploringSendsSomeTrafficToTheCheaperTier() async throws {
        let harness = try await PipelineHarness(routes: [Self.auto(exploration: 1), Self.fast, Self.smart], providers: [SimProvider()])
        let response = await call(harness, "strates/auto")
        #expect(header(response, "x-strates-auto-tier") == "fast")
        #expect(header(response, "x-strates-routing-reason")?.hasPrefix("exploring fast on chat/low (0 scored so far) instead of smart") == true)
    }

    @Test func withoutAutoRoutesNoTaskClassIsRead() async throws {
        let harness = try await PipelineHarness(routes: [Self.fast], providers: [SimProvider()])
        _ = await call(harness, "fast")
        let record = try #require(try await harness.stored().first)
        #expect(record.taskClass == nil && record.autoTier == nil)
    }

    @Test func theConfigurationSaysWhatIsWrongWithAnAutoRoute() throws {
        let good = """
            providers: {sim: {kind: sim}}
            models:
              - {name: fast, provider: sim, model: gpt-4o-mini}
              - {name: smart, provider: sim, model: gpt-4o}
              - name: strates/auto
                auto: {tiers: [fast, smart], target_success: 0.85, min_samples: 10, exploration: 0.1, baseline: smart}
            """
        let configuration = try ConfigurationReader.read(yaml: good)
        let auto = try #require(configuration.models.first { $0.pattern == "strates/auto" }?.auto)
        #expect(auto == AutoRoutingPolicy(tiers: ["fast", "smart"], targetSuccess: 0.85, minimumSamples: 10, exploration: 0.1, baseline: "smart"))

        let bad = """
            providers: {sim: {kind: sim}}
            models:
              - {name: fast, provider: sim, model: gpt-4o-mini}
              - name: strates/auto
                auto: {tiers: [fast, huge, strates/auto], target_success: 1.5, baseline: tiny, speed: 3}
              - name: other/auto
                auto: {tiers: [strates/auto]}
            """
        #expect {
            _ = try ConfigurationReader.read(yaml: bad)
        } throws: { error in
            let text = "\(error)"
            return text.contains("models[1].auto.target_success: expected a number from 0 to 1")
                && text.contains("models[1].auto.speed: unknown setting")
                && text.contains("'tiny' is not one of the tiers")
                && text.contains("'huge' is not served by any route with deployments")
                && text.contains("'strates/auto' is one of its own tiers, so it needs deployments of its own")
                && text.contains("'strates/auto' is itself auto-routed")
        }
    }
}
