import Foundation
import Logging
import StratesCore
import StratesProviders
import StratesServer
import Testing

@testable import StratesGateway

/// Runaway runs: flagged once per reason when they pass a limit (calls, spend, the same
/// request again and again), reported to the notice sink, and stopped when the policy says so.
@Suite struct RunawayTests {
    func call(_ harness: PipelineHarness, run: String, content: String = "same again") async -> GatewayResponse {
        await harness.gateway.handleSettled(
            harness.request(
                .chatCompletions, #"{"model":"gpt-4o-mini","max_tokens":20,"messages":[{"role":"user","content":"\#(content)"}]}"#,
                headers: [("x-strates-run", run)]),
            logger: Logger(label: "test")
        )
    }

    func harness(_ policy: RunawayPolicy, notices: NoticeRecorder) async throws -> PipelineHarness {
        try await PipelineHarness(notices: notices, runs: RunWatch(policy: policy))
    }

    @Test func aLoopingRunIsFlaggedOnceAndStopped() async throws {
        let notices = NoticeRecorder()
        let harness = try await harness(RunawayPolicy(maxCallsPerRun: nil, repeatedRequests: 3, stop: true), notices: notices)
        for _ in 0..<3 { #expect(await call(harness, run: "loop").status == 200) }
        let flags = notices.notices.withLock { $0 }.compactMap { notice -> RunawayFlag? in
            if case .runaway(let flag, _) = notice { return flag }
            return nil
        }
        #expect(flags.map(\.reason) == [.repeated] && flags.first?.calls == 3 && flags.first?.stopped == true)
        let refused = await call(harness, run: "loop", content: "something new")
        #expect(refused.status == 403)
        guard case .bytes(let body) = refused.body else {
            Issue.record("expected a body")
            return
        }
        let text = String(decoding: body, as: UTF8.self)
        #expect(text.contains("run_stopped") && text.contains("Run 'loop' was stopped as a runaway: 3 calls"), "\(text)")
        // Other runs go on; a run whose requests change is not a loop.
        for index in 0..<5 { #expect(await call(harness, run: "working", content: "step \(index)").status == 200) }
        let stored = try await harness.stored()
        #expect(stored.filter { $0.status == .rejected && $0.error == "refused: run_stopped" }.count == 1)
        // An outcome shows the run produced something: its count starts again and it may go on.
        harness.gateway.runs?.outcomeRecorded(run: "loop")
        #expect(await call(harness, run: "loop", content: "after the commit").status == 200)
    }

    @Test func callAndSpendLimitsFlagWithoutStoppingByDefault() async throws {
        let notices = NoticeRecorder()
        let harness = try await harness(RunawayPolicy(maxCallsPerRun: 2, maxCostPerRun: NanoUSD(1), repeatedRequests: nil), notices: notices)
        for index in 0..<4 { #expect(await call(harness, run: "big", content: "turn \(index)").status == 200) }
        let reasons = notices.notices.withLock { $0 }.compactMap { notice -> RunawayFlag.Reason? in
            if case .runaway(let flag, _) = notice { return flag.reason }
            return nil
        }
        #expect(reasons == [.cost, .calls], "spend passes $0.000000001 on the first call, calls pass 2 on the third; each once")
    }

    @Test func theConfigurationSetsAndDropsLimits() throws {
        let configuration = try ConfigurationReader.read(
            yaml: """
                providers: {sim: {kind: sim}}
                runaway: {max_calls_per_run: 50, max_cost_per_run_usd: 2.5, repeated_requests: off, stop: true}
                """)
        #expect(configuration.runaway == RunawayPolicy(maxCallsPerRun: 50, maxCostPerRun: NanoUSD(2_500_000_000), repeatedRequests: nil, stop: true))
        #expect(try ConfigurationReader.read(yaml: "providers: {sim: {kind: sim}}").runaway == RunawayPolicy())
        #expect(throws: ConfigurationError.self) { try ConfigurationReader.read(yaml: "providers: {sim: {kind: sim}}\nrunaway: {max_calls: 3}") }
    }
}
