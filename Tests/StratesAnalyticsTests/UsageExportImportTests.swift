import Foundation
import StratesCore
import StratesGateway
import StratesLedger
import StratesLedgerSQLite
import StratesTestSupport
import StratesWire
import Testing

@testable import StratesAnalytics

/// Providers' own usage exports into the ledger: one row per bucket and group, priced at the
/// tier the export names, idempotent, and never counting twice a day the ledger already has.
@Suite struct UsageExportImportTests {
    /// Anthropic's messages usage report, hourly, grouped by model, API key and service tier.
    static let anthropic = #"""
        {"data":[{"starting_at":"2026-11-20T09:00:00Z","ending_at":"2026-11-20T10:00:00Z","results":[
          {"uncached_input_tokens":1500,"cache_creation":{"ephemeral_1h_input_tokens":1000,"ephemeral_5m_input_tokens":500},"cache_read_input_tokens":200,
           "output_tokens":500,"server_tool_use":{"web_search_requests":0},"api_key_id":"apikey_01A","workspace_id":"wrkspc_01W","model":"claude-sonnet-4-5-20250929",
           "service_tier":"standard","context_window":"0-200k"},
          {"uncached_input_tokens":1000,"cache_creation_5m_input_tokens":0,"cache_creation_1h_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1000,
           "model":"claude-sonnet-4-5-20250929","service_tier":"batch","api_key_id":"apikey_01B","workspace_id":null},
          {"uncached_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":0,"model":"claude-haiku-4-5","service_tier":"standard","api_key_id":"apikey_01B"}]},
         {"starting_at":"2026-11-21T14:00:00Z","ending_at":"2026-11-21T15:00:00Z","results":[
          {"uncached_input_tokens":40,"cache_read_input_tokens":0,"output_tokens":8,"model":"claude-sonnet-4-5-20250929","service_tier":"standard","api_key_id":"apikey_01A"}]}],
         "has_more":false,"next_page":null}
        """#
    /// OpenAI's completions usage, daily, grouped by model, project and batch.
    static let openAI = #"""
        {"object":"page","data":[{"object":"bucket","start_time":1795132800,"end_time":1795219200,"results":[
          {"object":"organization.usage.completions.result","input_tokens":1000,"output_tokens":500,"input_cached_tokens":800,"input_audio_tokens":0,
           "output_audio_tokens":0,"num_model_requests":5,"project_id":"proj_1","user_id":null,"api_key_id":null,"model":"gpt-4o-2024-08-06","batch":false},
          {"object":"organization.usage.completions.result","input_tokens":2000,"output_tokens":100,"input_cached_tokens":0,
           "num_model_requests":2,"project_id":"proj_1","user_id":null,"api_key_id":null,"model":"gpt-4o-2024-08-06","batch":true}]}],
         "has_more":false,"next_page":null}
        """#

    static let nov20 = Date(timeIntervalSince1970: 1_795_132_800)

    func importer(includeMeteredDays: Bool = false) -> UsageExportImport {
        UsageExportImport(
            provider: "anthropic", attribution: Attribution(organization: "default", team: "platform", member: "ana"),
            teamsByKey: ["apikey_01B": "search"], includeMeteredDays: includeMeteredDays, pricing: Pricing(PriceCatalog.builtIn())
        )
    }

    func rows(_ ledger: SQLiteLedger) async throws -> [RequestRecord] {
        try await ledger.requests(organization: "default", environment: .production, from: .distantPast, to: .distantFuture)
            .sorted { ($0.startedAt, $0.usage.output) < ($1.startedAt, $1.usage.output) }
    }

    @Test func eachResultKeepsItsBucketAndGroups() throws {
        let (kind, buckets) = try ProviderExport.usageBuckets(Array(Self.anthropic.utf8))
        #expect(kind == .anthropicUsage && buckets.count == 4)
        let first = buckets[0]
        #expect(first.start == Self.nov20.addingTimeInterval(9 * 3_600) && first.end == Self.nov20.addingTimeInterval(10 * 3_600))
        #expect(first.usage == Usage(input: 1_500, output: 500, cacheRead: 200, cacheWrite5m: 500, cacheWrite1h: 1_000))
        #expect(first.groups == ["api_key_id": "apikey_01A", "workspace_id": "wrkspc_01W", "service_tier": "standard", "context_window": "0-200k"])
        #expect(first.requests == nil && buckets[1].groups["workspace_id"] == nil)
        #expect(first.identity != buckets[1].identity)

        let (openAIKind, openAI) = try ProviderExport.usageBuckets(Array(Self.openAI.utf8))
        #expect(openAIKind == .openAIUsage)
        #expect(openAI.map(\.groups["batch"]) == ["false", "true"] && openAI.map(\.requests) == [5, 2])
        #expect(openAI[0].usage == Usage(input: 200, output: 500, cacheRead: 800) && openAI[0].model == "gpt-4o-2024-08-06")
    }

    @Test func aCostExportIsRefusedWithWhatToDoInstead() throws {
        #expect(throws: ProviderExport.Problem.self) { try ProviderExport.usageBuckets(Array(ProviderExportTests.anthropicCost.utf8)) }
        do {
            _ = try ProviderExport.usageBuckets(Array(ProviderExportTests.openAICost.utf8))
            Issue.record("a cost export was read as usage")
        } catch {
            #expect(error.description.contains("dollars, not tokens") && error.description.contains("strates reconcile"))
        }
    }

    @Test func resultsBecomeRowsOnceAndAreUpdatedWhenTheDayGrew() async throws {
        let ledger = try SQLiteLedger(inMemory: ())
        let summary = try await importer().run(Array(Self.anthropic.utf8), store: ledger)
        #expect((summary.results, summary.empty, summary.rows, summary.added, summary.updated) == (4, 1, 3, 3, 0))
        #expect(summary.unseenKeys.isEmpty)
        #expect(summary.usage == Usage(input: 2_540, output: 1_508, cacheRead: 200, cacheWrite5m: 500, cacheWrite1h: 1_000))
        let rows = try await self.rows(ledger)
        #expect(rows.count == 3 && rows.allSatisfy { $0.provider == "anthropic" && $0.api == "messages" && $0.source == "anthropic-usage-export" })
        // The key's team where it was mapped, the workspace as the service.
        #expect(rows.map(\.attribution.team) == ["platform", "search", "platform"])
        #expect(rows[0].attribution.service == "wrkspc_01W" && rows[1].attribution.service == nil)
        // Priced at the tier the export names: the batch row at half the standard price.
        let pricing = Pricing(PriceCatalog.builtIn())
        var standard = rows[1]
        standard.serviceTier = .standard
        let batchCost = try #require(rows[1].cost)
        let standardCost = try #require(pricing.cost(of: standard))
        #expect(rows[1].serviceTier == .batch && batchCost.value * 2 == standardCost.value)
        #expect(summary.cost == NanoUSD(rows.compactMap(\.cost).map(\.value).reduce(0, +)))

        let again = try await importer().run(Array(Self.anthropic.utf8), store: ledger)
        #expect((again.rows, again.added, again.updated) == (3, 0, 0) && again.skippedDays.isEmpty)

        // The same day exported later, with more of it: the row is updated, not added.
        let later = Self.anthropic.replacingOccurrences(
            of: #""uncached_input_tokens":40,"cache_read_input_tokens":0,"output_tokens":8"#,
            with: #""uncached_input_tokens":90,"cache_read_input_tokens":0,"output_tokens":30"#)
        let grown = try await importer().run(Array(later.utf8), store: ledger)
        #expect((grown.added, grown.updated) == (0, 1))
        let after = try await self.rows(ledger)
        #expect(after.count == 3 && after.last?.usage == Usage(input: 90, output: 30))
    }

    @Test func pagesSavedToSeveralFilesImportAsOne() async throws {
        // The two buckets of the Anthropic export as two files, the second also repeating
        // the first (overlapping pages): the same rows as the whole export.
        let whole = try #require(try JSONSerialization.jsonObject(with: Data(Self.anthropic.utf8)) as? [String: Any])
        let buckets = try #require(whole["data"] as? [Any])
        let first = try JSONSerialization.data(withJSONObject: ["data": [buckets[0]]])
        let second = try JSONSerialization.data(withJSONObject: ["data": [buckets[1], buckets[0]]])
        let ledger = try SQLiteLedger(inMemory: ())
        let summary = try await importer().run(files: [("a.json", Array(first)), ("b.json", Array(second))], store: ledger)
        let reference = try await importer().run(Array(Self.anthropic.utf8), store: SQLiteLedger(inMemory: ()))
        #expect((summary.rows, summary.added, summary.usage, summary.cost) == (reference.rows, reference.added, reference.usage, reference.cost))
        do {
            _ = try await importer().run(files: [("a.json", Array(first)), ("o.json", Array(Self.openAI.utf8))], store: ledger)
            Issue.record("an OpenAI export was imported with an Anthropic one")
        } catch let error as ImportError {
            #expect(
                error.description == "o.json: this is an openai completions usage, and the files before it an anthropic usage report: import one kind at a time"
            )
        }
    }

    @Test func openAIBatchUsageIsPricedAsBatchAndItsRequestsCounted() async throws {
        let ledger = try SQLiteLedger(inMemory: ())
        var openAI = importer()
        openAI.provider = "openai"
        let summary = try await openAI.run(Array(Self.openAI.utf8), store: ledger)
        #expect((summary.rows, summary.added, summary.requests) == (2, 2, 7))
        // Not grouped by key: the key given a team is named as unseen.
        #expect(summary.unseenKeys == ["apikey_01B"])
        let rows = try await self.rows(ledger)
        #expect(rows.map(\.serviceTier) == [.batch, nil] && rows.allSatisfy { $0.api == "chat_completions" && $0.attribution.service == "proj_1" })
        #expect(rows.first?.source == "openai-usage-export" && rows.allSatisfy { $0.cost != nil })
        // The batch row costs half what the same tokens cost at the standard tier.
        var standard = rows[0]
        standard.serviceTier = nil
        #expect(try #require(rows[0].cost).value * 2 == Pricing(PriceCatalog.builtIn()).cost(of: standard)?.value)
    }

    @Test func aBucketIsPricedLongContextByItsGroupNotItsTotal() async throws {
        let export = #"""
            {"data":[{"starting_at":"2026-11-20T00:00:00Z","ending_at":"2026-11-21T00:00:00Z","results":[
              {"uncached_input_tokens":900000,"cache_read_input_tokens":0,"output_tokens":1000,"model":"claude-sonnet-4-5-20250929","context_window":"0-200k"},
              {"uncached_input_tokens":900000,"cache_read_input_tokens":0,"output_tokens":1000,"model":"claude-sonnet-4-5-20250929","context_window":"200k-1M"}]}]}
            """#
        let ledger = try SQLiteLedger(inMemory: ())
        let summary = try await importer().run(Array(export.utf8), store: ledger)
        #expect(summary.rows == 2)
        // Many short requests summing past 200k stay at $3 / $15; the long ones are at $6 / $22.50.
        let costs = try await self.rows(ledger).map { $0.cost }
        #expect(Set(costs) == [NanoUSD(2_700_000_000 + 15_000_000), NanoUSD(5_400_000_000 + 22_500_000)])
    }

    @Test func aDayTheLedgerAlreadyHasIsNotCountedTwice() async throws {
        let ledger = try SQLiteLedger(inMemory: ())
        // The gateway served one call to the same provider on Nov 21.
        let metered = RequestRecord(
            id: "req_gateway", startedAt: Self.nov20.addingTimeInterval(86_400 + 50_000), api: "messages", stream: false, status: .completed,
            attribution: Attribution(organization: "default"), requestedModel: "claude-sonnet-4-5-20250929", provider: "anthropic",
            usage: Usage(input: 40, output: 8)
        )
        // A call to another provider on Nov 20 does not hold that day back.
        var elsewhere = metered
        elsewhere.id = "req_other"
        elsewhere.provider = "openai"
        elsewhere.startedAt = Self.nov20.addingTimeInterval(100)
        try await ledger.insert([metered, elsewhere])

        let summary = try await importer().run(Array(Self.anthropic.utf8), store: ledger)
        #expect(summary.skippedDays == [Self.nov20.addingTimeInterval(86_400)] && summary.skippedResults == 1)
        #expect((summary.rows, summary.added) == (2, 2))
        let forced = try await importer(includeMeteredDays: true).run(Array(Self.anthropic.utf8), store: ledger)
        #expect(forced.skippedDays.isEmpty && (forced.rows, forced.added) == (3, 1))
    }

    @Test func mutatedExportsAreReadOrRefusedNeverCrash() throws {
        // Truncations, flipped bytes and swapped types: each is either read or refused with a
        // Problem, and what is read never holds negative tokens.
        var generator = SeededRandom(116)
        let sources = [Array(Self.anthropic.utf8), Array(Self.openAI.utf8)]
        let swaps: [(String, String)] = [
            ("1500", "\"1500\""), ("1000", "-5"), ("\"results\":[", "\"results\":{"), ("1795132800", "\"x\""), ("500", "1e400"), ("\"model\"", "\"mod\""),
        ]
        var read = 0
        var refused = 0
        for round in 0..<3_000 {
            var bytes = sources[round % 2]
            switch round % 3 {
            case 0: bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &generator)))
            case 1:
                for _ in 0..<3 { bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator) }
            default:
                let (from, to) = swaps[Int.random(in: 0..<swaps.count, using: &generator)]
                bytes = Array(String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: from, with: to).utf8)
            }
            do {
                let (_, buckets) = try ProviderExport.usageBuckets(bytes)
                read += 1
                let counts = buckets.flatMap { [$0.usage.input, $0.usage.output, $0.usage.cacheRead, $0.usage.cacheWrite5m, $0.usage.cacheWrite1h] }
                #expect(counts.allSatisfy { $0 >= 0 })
            } catch {
                refused += 1
                #expect(!error.description.isEmpty)
            }
        }
        #expect(read > 0 && refused > 0)
    }
}
