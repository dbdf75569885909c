import Foundation
import StratesCore
import StratesGateway
import StratesLedger
import StratesLedgerSQLite
import Testing

@testable import StratesAnalytics

/// Long-context rates apply per request: usage summed over many requests (a routing report's
/// day, a provider export's bucket) is priced by whether its requests were long, never by
/// its total.
@Suite struct LongContextPricingTests {
    let pricing = Pricing(PriceCatalog.builtIn())
    let day = Date(timeIntervalSince1970: 1_795_132_800)

    func sonnet() throws -> ModelPrice {
        try #require(pricing.price(provider: "anthropic", model: "claude-sonnet-4-5", at: day)?.price)
    }

    @Test func aRequestIsLongByItsInputUnlessTheCallerSays() throws {
        let price = try sonnet()
        let long = Usage(input: 150_000, output: 1_000, cacheRead: 100_000)
        let short = Usage(input: 1_000, output: 1_000)
        #expect(price.cost(of: long) == price.cost(of: long, longContext: true))
        #expect(price.cost(of: long, longContext: false).value < price.cost(of: long).value)
        #expect(price.cost(of: short) == price.cost(of: short, longContext: false))
        // Sonnet 4.5: $3 / $15 per million, $6 / $22.50 above 200k input.
        #expect(price.cost(of: short, longContext: true) == NanoUSD(6_000_000 + 22_500_000))
    }

    @Test func theRoutingReportPricesADaysRequestsAsTheyWereEachPriced() async throws {
        let ledger = try SQLiteLedger(inMemory: ())
        // Six ordinary requests (300k input between them) and one long one, all cached.
        var usages = Array(repeating: Usage(input: 10_000, output: 500, cacheRead: 40_000), count: 6)
        usages.append(Usage(input: 50_000, output: 2_000, cacheRead: 200_000))
        let records = usages.enumerated().map { index, usage in
            var record = RequestRecord(
                id: "req_\(index)", startedAt: day.addingTimeInterval(Double(index) * 60), api: "messages", stream: false, status: .completed,
                attribution: Attribution(organization: "default"), requestedModel: "claude-sonnet-4-5", servedModel: "claude-sonnet-4-5",
                provider: "anthropic", usage: usage
            )
            record.cost = pricing.cost(of: record)
            return record
        }
        try await ledger.insert(records)
        let report = try await RoutingReporting.make(
            database: ledger, pricing: pricing, routes: [], since: day, until: day.addingTimeInterval(86_400), team: nil
        )
        let line = try #require(report.lines.first)
        let price = try sonnet()
        // What caching saved, request by request: each priced without its cache, as it was.
        let saved = usages.map { usage in
            let uncached = Usage(input: usage.totalInput, output: usage.output)
            return price.cost(of: uncached).value - price.cost(of: usage).value
        }.reduce(0, +)
        #expect(line.requests == 7 && line.cachingSaved == saved)
        #expect(line.spend == records.compactMap(\.cost).map(\.value).reduce(0, +))
    }
}
