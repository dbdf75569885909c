import Foundation
import StratesCore
import StratesGateway
import StratesLedger
import StratesTestSupport
import Testing

@testable import StratesAnalytics
@testable import StratesProviders
@testable import StratesServer

@Suite struct BenefitsReportTests {
    @Test func periodsAreMonthsOrYearsInTheirZone() throws {
        let november = try #require(ReportPeriod("2026-11", timeZone: .gmt))
        #expect(november.start == at("2026-11-01") && november.end == at("2026-12-01"))
        let paris = try #require(ReportPeriod("2026-11", timeZone: TimeZone(identifier: "Europe/Paris")!))
        #expect(paris.start == at("2026-10-31T23:00:00Z") && paris.end == at("2026-11-30T23:00:00Z"))
        let year = try #require(ReportPeriod("2026", timeZone: .gmt))
        #expect(year.start == at("2026-01-01") && year.end == at("2027-01-01"))
        for bad in ["2026-13", "2026-00", "26-11", "2026-1", "2026-11-01", "november", "", "-2026", "2026-"] {
            #expect(ReportPeriod(bad, timeZone: .gmt) == nil, "\(bad)")
        }
    }

    /// $1 per thousand tokens in and out at list price; a 20 % contract discount.
    func pricing() -> Pricing {
        var catalog = PriceCatalog(discounts: ["openai": 2_000])
        let rate = TokenRate(dollarsPerMillion: "1000")!
        catalog.add(ModelPrice(provider: "openai", model: "m", effectiveFrom: at("2026-01-01"), input: rate, output: rate))
        return Pricing(catalog)
    }

    func record(
        _ id: String, member: String, team: String = "platform", environment: Environment = .personal, at date: Date, tokens: Int64,
        model: String = "m", grant: String? = nil, pricing: Pricing
    ) -> RequestRecord {
        var record = RequestRecord(
            id: id, startedAt: date, api: "chat_completions", stream: false, status: .completed,
            attribution: Attribution(organization: "default", team: team, member: member, environment: environment), requestedModel: model,
            servedModel: model, provider: "openai", inputEstimate: tokens
        )
        record.usage = Usage(input: tokens / 2, output: tokens - tokens / 2)
        record.cost = pricing.cost(of: record)
        record.grantID = grant
        return record
    }

    @Test func valuesPersonalUseAtListAndContractAndTalliesGrants() throws {
        let pricing = pricing()
        let grant = Grant(id: "g_ana", name: "ana-rnd", member: "ana", unit: .usd, amount: 50 * dollar, period: .month, startsAt: at("2026-10-01"))
        let project = Grant(
            id: "g_proj", name: "ana-proj", member: "ana", unit: .tokens, amount: 100_000, period: .once, purpose: "project", startsAt: at("2026-11-01"))
        let bo = Grant(id: "g_bo", name: "bo-rnd", member: "bo", unit: .tokens, amount: 1_000_000, period: .month, startsAt: at("2026-11-01"))
        let records = [
            record("1", member: "ana", at: at("2026-11-03"), tokens: 10_000, grant: "g_ana", pricing: pricing),  // $10 list, $8 contract
            record("2", member: "ana", at: at("2026-11-20"), tokens: 5_000, grant: "g_ana", pricing: pricing),  // $5 list, $4 contract
            record("3", member: "ana", at: at("2026-11-21"), tokens: 2_000, grant: "g_proj", pricing: pricing),  // project grant
            record("4", member: "ana", at: at("2026-11-22"), tokens: 1_000, model: "unknown", pricing: pricing),  // no price
            record("5", member: "ana", environment: .production, at: at("2026-11-22"), tokens: 9_000, pricing: pricing),  // not personal
            record("6", member: "ana", at: at("2026-10-30"), tokens: 9_000, grant: "g_ana", pricing: pricing),  // October
        ]
        let period = try #require(ReportPeriod("2026-11", timeZone: .gmt))
        // Statements at the period's end, from the grants' own usage.
        var usage: [String: [Int64: Int64]] = [:]
        for record in records where record.grantID != nil {
            let amount = record.grantID == "g_ana" ? record.cost!.value : record.usage.total
            usage[record.grantID!, default: [:]][GrantStatement.quarter(record.startedAt), default: 0] += amount
        }
        let statements = [grant, project, bo].map { GrantStatement(grant: $0, at: period.end, usage: usage[$0.id] ?? [:]) }
        let report = BenefitsReport.make(period: period, records: records, statements: statements, purpose: "benefit") { pricing.listCost(of: $0) }

        #expect(report.lines.map(\.member) == ["ana", "bo"])
        let ana = report.lines[0]
        #expect(ana.requests == 4 && ana.tokens == 18_000 && ana.unpricedRequests == 1 && ana.teams == ["platform"])
        #expect(ana.listValue == 17 * dollar && ana.contractCost == 17 * dollar * 8 / 10)
        // The benefit grant: $50 granted in November, $12 drawn, $38 left, and it lapses on 1 December.
        #expect(ana.usdGrants == GrantTally(granted: 50 * dollar, used: 12 * dollar, unused: 38 * dollar, lapsed: 38 * dollar))
        // The project grant is not a benefit: left out unless asked for.
        #expect(ana.tokenGrants == GrantTally() && ana.grantNames == ["ana-rnd"])
        // A member with a grant and no personal use is on the report, all unused.
        #expect(report.lines[1].tokenGrants == GrantTally(granted: 1_000_000, used: 0, unused: 1_000_000, lapsed: 1_000_000))
        #expect(report.totals.listValue == 17 * dollar && report.totals.tokenGrants.unused == 1_000_000)

        let all = BenefitsReport.make(period: period, records: records, statements: statements, purpose: nil) { pricing.listCost(of: $0) }
        #expect(all.lines[0].tokenGrants == GrantTally(granted: 100_000, used: 2_000, unused: 98_000, lapsed: 0))

        let csv = APICSV.text(report).split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        #expect(csv[0].count == report.csvHeader.count && csv.allSatisfy { $0.count == report.csvHeader.count })
        #expect(csv[1].prefix(9).joined(separator: ",") == "2026-11,ana,platform,4,18000,17.000000,13.600000,3.400000,1")
        let json = try JSONSerialization.jsonObject(with: Data(APIJSON.text(report).utf8)) as! [String: Any]
        let totals = json["totals"] as! [String: Any]
        #expect(totals["list_value_usd"] as? String == "17.000000" && (json["members"] as! [Any]).count == 2)
    }

    @Test func csvFieldsAreQuotedAndNeverFormulas() {
        #expect(CSVText.field("plain") == "plain")
        #expect(CSVText.field("a,b") == "\"a,b\"")
        #expect(CSVText.field("say \"hi\"") == "\"say \"\"hi\"\"\"")
        #expect(CSVText.field("=HYPERLINK(\"x\")") == "\"'=HYPERLINK(\"\"x\"\")\"")
        #expect(CSVText.field("+1") == "'+1" && CSVText.field("@sum") == "'@sum" && CSVText.field("-cmd") == "'-cmd")
        #expect(CSVText.field("-3.400000") == "-3.400000")
    }

    /// Random ledgers: every member's list value is at least its contract cost, the totals
    /// are the sums of the lines, and every personal request of the period is counted once.
    @Test func totalsAreTheSumOfTheLines() throws {
        let pricing = pricing()
        let period = try #require(ReportPeriod("2026-11", timeZone: .gmt))
        var generator = SeededRandom(11)
        for _ in 0..<50 {
            let records = (0..<Int.random(in: 0...60, using: &generator)).map { index in
                record(
                    "r\(index)", member: ["ana", "bo", "cy"].randomElement(using: &generator)!,
                    environment: Environment.allCases.randomElement(using: &generator)!,
                    at: at("2026-10-25").addingTimeInterval(Double.random(in: 0...(45 * 86_400), using: &generator)),
                    tokens: Int64.random(in: 0...50_000, using: &generator), model: Bool.random(using: &generator) ? "m" : "other", pricing: pricing
                )
            }
            let report = BenefitsReport.make(period: period, records: records, statements: [], purpose: nil) { pricing.listCost(of: $0) }
            let counted = records.filter { $0.attribution.environment == .personal && $0.startedAt >= period.start && $0.startedAt < period.end }
            #expect(report.totals.requests == Int64(counted.count))
            #expect(report.lines.reduce(0) { $0 + $1.listValue } == report.totals.listValue)
            #expect(report.lines.allSatisfy { $0.listValue >= $0.contractCost })
            #expect(report.totals.tokens == counted.reduce(0) { $0 + $1.usage.total })
        }
    }
}
