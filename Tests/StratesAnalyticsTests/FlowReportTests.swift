import Foundation
import StratesCore
import StratesLedger
import Testing

@testable import StratesAnalytics
@testable import StratesServer

/// The token-flow report: groups ranked by spend with shares, the rest folded into
/// "(other)", second-level breakdowns, and each top group's trend per day or week.
@Suite struct FlowReportTests {
    func row(_ group: [String: String], cost: Int64, tokens: Int64 = 100) -> UsageRow {
        UsageRow(group: group, requests: 1, usage: Usage(input: tokens), cost: NanoUSD(cost), unknownCostRequests: 0, estimatedRequests: 0, failedRequests: 0)
    }

    static let since = UsageReport.parseDay("2026-11-16")!
    static let until = UsageReport.parseDay("2026-11-30")!

    @Test func groupsRankBySpendAndTheRestFoldIntoOther() throws {
        let pairs = [
            row(["team": "platform", "workflow": "review"], cost: 600), row(["team": "platform", "workflow": "ci"], cost: 100),
            row(["team": "platform", "workflow": "docs"], cost: 50), row(["team": "data", "workflow": "etl"], cost: 200),
            row(["team": "web", "workflow": "ui"], cost: 30), row(["team": "ops", "workflow": "pager"], cost: 20),
        ]
        let series = [
            row(["team": "platform", "day": "2026-11-16"], cost: 300), row(["team": "platform", "day": "2026-11-24"], cost: 450),
            row(["team": "web", "day": "2026-11-20"], cost: 30), row(["team": "ops", "day": "2026-11-29"], cost: 20),
            row(["team": "data", "day": "2026-12-02"], cost: 200),
        ]
        let report = FlowReport.make(dimensions: [.team, .workflow], pairs: pairs, series: series, top: 2, trend: .week, since: Self.since, until: Self.until)
        #expect(report.cost == 1_000 && report.requests == 6)
        #expect(report.groups.map(\.key) == ["platform", "data", "(other)"])
        #expect(report.groups.map(\.cost) == [750, 200, 50] && report.groups[0].share == 0.75)
        #expect(report.groups[0].children.map(\.key) == ["review", "ci", "(other)"] && report.groups[0].children[2].cost == 50)
        #expect(report.groups[0].children[0].share == 0.6, "a child's share is of the whole window")
        #expect(report.periods == ["2026-11-16", "2026-11-23"])
        #expect(report.groups[0].trend == [300, 450] && report.groups[2].trend == [30, 20], "days outside the window count nowhere")
        #expect(APICSV.text(report).split(separator: "\n").count == 1 + 3 + 1 + 1)
        #expect(APIJSON.text(report).contains(#""periods":["2026-11-16","2026-11-23"]"#))
    }

    @Test func withNothingPricedSharesAreOfTokens() {
        let report = FlowReport.make(
            dimensions: [.model], pairs: [row(["model": "a"], cost: 0, tokens: 300), row(["model": "b"], cost: 0, tokens: 100)], series: [], top: 10,
            trend: .day, since: Self.since, until: Self.until
        )
        #expect(report.groups.map(\.share) == [0.75, 0.25] && report.periods.count == 14)
        #expect(report.groups.allSatisfy { $0.children.isEmpty && $0.trend == Array(repeating: 0, count: 14) })
    }
}
