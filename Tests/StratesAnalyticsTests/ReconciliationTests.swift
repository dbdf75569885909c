import Foundation
import StratesCore
import StratesLedger
import StratesTestSupport
import StratesWire
import Testing

@testable import StratesAnalytics
@testable import StratesProviders
@testable import StratesServer

/// Provider usage and cost exports read as their admin APIs return them, and the ledger
/// compared with them per day and model, each difference with its likely causes.
@Suite struct ProviderExportTests {
    static let anthropicUsage = #"""
        {"data":[{"starting_at":"2026-11-20T00:00:00Z","ending_at":"2026-11-21T00:00:00Z","results":[
          {"uncached_input_tokens":1500,"cache_creation":{"ephemeral_1h_input_tokens":1000,"ephemeral_5m_input_tokens":500},"cache_read_input_tokens":200,
           "output_tokens":500,"server_tool_use":{"web_search_requests":0},"api_key_id":null,"workspace_id":null,"model":"claude-sonnet-4-5-20250929",
           "service_tier":"standard","context_window":"0-200k"},
          {"uncached_input_tokens":10,"cache_creation_5m_input_tokens":0,"cache_creation_1h_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":5,
           "model":"claude-sonnet-4-5-20250929","service_tier":"batch"}]},
         {"starting_at":"2026-11-21T00:00:00Z","ending_at":"2026-11-22T00:00:00Z","results":[]}],
         "has_more":false,"next_page":null}
        """#
    static let anthropicCost = #"""
        [{"data":[{"starting_at":"2026-11-20T00:00:00Z","ending_at":"2026-11-21T00:00:00Z","results":[
          {"currency":"USD","amount":"123.45","workspace_id":null,"description":"Claude Sonnet 4.5 Usage - Input Tokens","cost_type":"tokens",
           "context_window":"0-200k","model":"claude-sonnet-4-5-20250929","service_tier":"standard","token_type":"uncached_input_tokens"}]}],"has_more":true,"next_page":"page_x"},
         {"data":[{"starting_at":"2026-11-20T00:00:00Z","ending_at":"2026-11-21T00:00:00Z","results":[
          {"currency":"USD","amount":"0.55","model":"claude-sonnet-4-5-20250929","cost_type":"tokens","token_type":"output_tokens"}]}],"has_more":false,"next_page":null}]
        """#
    static let openAIUsage = #"""
        {"object":"page","data":[{"object":"bucket","start_time":1795132800,"end_time":1795219200,"results":[
          {"object":"organization.usage.completions.result","input_tokens":1000,"output_tokens":500,"input_cached_tokens":800,"input_audio_tokens":0,
           "output_audio_tokens":0,"num_model_requests":5,"project_id":null,"user_id":null,"api_key_id":null,"model":"gpt-4o-2024-08-06","batch":null}]}],
         "has_more":false,"next_page":null}
        """#
    static let openAICost = """
        {"object":"page","data":[{"object":"bucket","start_time":1795132800,"end_time":1795219200,"results":[{"object":"organization.costs.result","amount":{"value":0.06,"currency":"usd"},"line_item":"gpt-4o-2024-08-06, input","project_id":null}]}],"has_more":false}
        {"object":"page","data":[{"object":"bucket","start_time":1795132800,"end_time":1795219200,"results":[{"object":"organization.costs.result","amount":{"value":0.0125,"currency":"usd"},"line_item":"gpt-4o-2024-08-06, output","project_id":null}]}],"has_more":false}
        """

    static let day = Date(timeIntervalSince1970: 1_795_132_800)

    @Test func eachExportIsReadInItsOwnTerms() throws {
        let usage = try ProviderExport.read(Array(Self.anthropicUsage.utf8))
        #expect(usage.kind == .anthropicUsage)
        #expect(
            usage.rows == [
                ExportRow(
                    day: Self.day, model: "claude-sonnet-4-5-20250929",
                    usage: Usage(input: 1_510, output: 505, cacheRead: 200, cacheWrite5m: 500, cacheWrite1h: 1_000))
            ])
        // Cents as a decimal string, summed over pages: $1.2345 + $0.0055.
        let cost = try ProviderExport.read(Array(Self.anthropicCost.utf8))
        #expect(cost.kind == .anthropicCost && cost.rows.first?.cost == NanoUSD(1_240_000_000))
        // OpenAI's input includes the cached part.
        let openAI = try ProviderExport.read(Array(Self.openAIUsage.utf8))
        #expect(openAI.kind == .openAIUsage && openAI.rows.first?.usage == Usage(input: 200, output: 500, cacheRead: 800) && openAI.rows.first?.requests == 5)
        let openAICost = try ProviderExport.read(Array(Self.openAICost.utf8))
        #expect(openAICost.kind == .openAICost && openAICost.rows == [ExportRow(day: Self.day, model: "gpt-4o-2024-08-06", cost: NanoUSD(72_500_000))])
    }

    @Test(arguments: [
        ("", "no pages"), ("{\"object\":\"page\"}", "no 'data' list"), ("[1,2]", "no pages"),
        (#"{"data":[{"results":[]}]}"#, "without a readable starting_at"),
        (#"{"data":[{"starting_at":"2026-11-20T00:00:00Z","results":[{"currency":"EUR","amount":"1"}]}]}"#, "only USD"),
        (#"{"data":[{"starting_at":"2026-11-20T00:00:00Z","results":[{"foo":1}]}]}"#, "neither usage nor cost"),
        (#"{"data":[{"starting_at":"2026-11-20T00:00:00Z","results":[{"uncached_input_tokens":1},{"currency":"USD","amount":"1"}]}]}"#, "mixes"),
    ])
    func whatCannotBeReadIsSaid(text: String, expected: String) {
        #expect(throws: ProviderExport.Problem.self) { try ProviderExport.read(Array(text.utf8)) }
        do { _ = try ProviderExport.read(Array(text.utf8)) } catch { #expect(error.description.contains(expected), "\(error)") }
    }

    @Test func mutatedExportsNeverCrashTheReader() {
        var random = SeededRandom(3)
        let sources = [Self.anthropicUsage, Self.anthropicCost, Self.openAIUsage, Self.openAICost].map { Array($0.utf8) }
        var read = 0
        for round in 0..<5_000 {
            var bytes = sources[round % sources.count]
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                let at = Int.random(in: 0..<bytes.count, using: &random)
                if Bool.random(using: &random) { bytes[at] = UInt8.random(in: 0...255, using: &random) } else { bytes = Array(bytes.prefix(at)) }
                if bytes.isEmpty { break }
            }
            if (try? ProviderExport.read(bytes)) != nil { read += 1 }
        }
        #expect(read > 0)
    }
}

@Suite struct ReconciliationTests {
    static let day = ProviderExportTests.day

    func ledgerRow(_ model: String, _ usage: Usage, cost: Int64 = 0, requests: Int64 = 10, estimated: Int64 = 0, unpriced: Int64 = 0) -> UsageRow {
        UsageRow(
            group: ["day": UsageReport.dayText(Self.day), "model": model], requests: requests, usage: usage, cost: NanoUSD(cost),
            unknownCostRequests: unpriced, estimatedRequests: estimated, failedRequests: 0)
    }

    @Test func matchingCountsRaiseNothingAndDatedNamesMatch() {
        let usage = Usage(input: 100_000, output: 20_000, cacheRead: 500_000)
        let report = Reconciliation.make(
            provider: "anthropic", export: [ExportRow(day: Self.day, model: "claude-sonnet-4-5-20250929", usage: usage)],
            ledger: [ledgerRow("claude-sonnet-4-5", Usage(input: 100_000, output: 19_990, cacheRead: 500_000))], measure: .tokens, thresholdPercent: 1
        )
        #expect(report.lines.count == 1 && report.differences == 0 && report.lines[0].model == "claude-sonnet-4-5")
    }

    @Test func unmeteredTrafficAndEstimatesAreToldApart() throws {
        let export = [
            ExportRow(day: Self.day, model: "claude-sonnet-4-5", usage: Usage(input: 200_000, output: 40_000)),
            ExportRow(day: Self.day, model: "claude-opus-4-1", usage: Usage(input: 5_000, output: 1_000)),
            ExportRow(day: Self.day, model: "claude-haiku-4-5", usage: Usage(input: 10_000, output: 1_000)),
        ]
        let ledger = [
            ledgerRow("claude-sonnet-4-5", Usage(input: 100_000, output: 20_000)),
            ledgerRow("claude-haiku-4-5", Usage(input: 30_000, output: 1_000), estimated: 4),
            // Another day's traffic is outside the export's days: left out.
            UsageRow(
                group: ["day": "2026-11-19", "model": "claude-haiku-4-5"], requests: 1, usage: Usage(input: 9), cost: .zero, unknownCostRequests: 0,
                estimatedRequests: 0, failedRequests: 0),
        ]
        let report = Reconciliation.make(provider: "anthropic", export: export, ledger: ledger, measure: .tokens, thresholdPercent: 1)
        #expect(report.lines.count == 3 && report.differences == 3)
        let sonnet = try #require(report.lines.first { $0.model == "claude-sonnet-4-5" })
        #expect(sonnet.causes.first?.hasPrefix("unmetered traffic: anthropic counted 120000 tokens more than Strates saw") == true, "\(sonnet.causes)")
        let opus = try #require(report.lines.first { $0.model == "claude-opus-4-1" })
        #expect(opus.causes.first?.contains("none went through Strates") == true)
        let haiku = try #require(report.lines.first { $0.model == "claude-haiku-4-5" })
        #expect(haiku.causes.first?.contains("4 request(s) metered from their size") == true, "\(haiku.causes)")
    }

    @Test func cacheKindsAndPriceDriftAreNamed() throws {
        // Same total, but the provider billed 1-hour cache writes where Strates recorded 5-minute ones.
        let kinds = Reconciliation.make(
            provider: "anthropic", export: [ExportRow(day: Self.day, model: "claude-sonnet-4-5", usage: Usage(input: 10, output: 10, cacheWrite1h: 50_000))],
            ledger: [ledgerRow("claude-sonnet-4-5", Usage(input: 10, output: 10, cacheWrite5m: 50_000))], measure: .tokens, thresholdPercent: 1
        )
        #expect(
            kinds.lines[0].causes == [
                "cache pricing: the token kinds differ (provider minus Strates: cache write 5m -50000, cache write 1h +50000); cache writes priced as 5-minute instead of 1-hour (or reads as fresh input) change the cost even when the totals agree"
            ])
        let cost = Reconciliation.make(
            provider: "openai", export: [ExportRow(day: Self.day, model: "gpt-4o-2024-08-06", cost: NanoUSD(5_000_000_000))],
            ledger: [ledgerRow("gpt-4o", Usage(input: 1_000_000), cost: 4_000_000_000), ledgerRow("gpt-4o-mini", Usage(input: 10), cost: 0, unpriced: 2)],
            measure: .cost, thresholdPercent: 1
        )
        // gpt-4o-mini is not in the export, but its day is: its requests have no price, so their cost cannot be vouched for.
        #expect(cost.lines.map(\.model) == ["gpt-4o", "gpt-4o-mini"])
        #expect(cost.lines[0].causes.contains { $0.hasPrefix("price catalog drift: check Strates' price for gpt-4o") })
        #expect(
            cost.lines[1].causes == ["2 request(s) of gpt-4o-mini have no price in Strates' catalog, so their cost is missing: add it with `strates prices`"])
        #expect(APIJSON.text(cost).contains(#""differences":2"#) && cost.table.count == 3)
    }
}
