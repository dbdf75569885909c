import Foundation
import StratesCore
import StratesTestSupport
import Testing

@testable import StratesAnalytics

/// The forecast's arithmetic: burn from the last 7 days (or since the period began),
/// projection to the period's end, when the limit is reached, week-over-week growth.
@Suite struct ForecastTests {
    static let dollar: Int64 = 1_000_000_000
    static let november = BudgetWindow(start: UsageReport.parseDay("2026-11-01")!, end: UsageReport.parseDay("2026-12-01")!, rolling: false)

    func budget(limit: Int64, period: BudgetPeriod = .month) -> Budget {
        Budget(id: "b", name: "platform-month", scope: BudgetScope(kind: .team, value: "platform"), period: period, timeZone: "UTC", unit: .usd, limit: limit)
    }

    @Test func aBudgetBurningFasterThanItsLimitIsExhaustedBeforeThePeriodEnds() throws {
        let now = UsageReport.parseDay("2026-11-21")!
        let line = Forecast.line(for: budget(limit: 100 * Self.dollar), window: Self.november, spent: 80 * Self.dollar, recent: 21 * Self.dollar, now: now)
        #expect(line.dailyBurn == Double(3 * Self.dollar))
        #expect(line.projected == 110 * Self.dollar, "80 spent + 3 a day for the 10 days left")
        let days = try #require(line.daysLeft)
        #expect(abs(days - 20.0 / 3) < 1e-9 && line.exhaustsAt == now.addingTimeInterval(days * 86_400))
        // At the same burn with 70 spent, the limit is reached only as the period ends: not this period.
        let onTrack = Forecast.line(for: budget(limit: 100 * Self.dollar), window: Self.november, spent: 70 * Self.dollar, recent: 21 * Self.dollar, now: now)
        #expect(onTrack.exhaustsAt == nil && onTrack.projected == 100 * Self.dollar)
        let over = Forecast.line(for: budget(limit: 100 * Self.dollar), window: Self.november, spent: 101 * Self.dollar, recent: 0, now: now)
        #expect(over.exhaustsAt == now && over.daysLeft == 0)
    }

    @Test func aYoungPeriodBurnsOverTheDaysItHasHad() {
        let now = UsageReport.parseDay("2026-11-03")!
        let line = Forecast.line(for: budget(limit: 1_000 * Self.dollar), window: Self.november, spent: 10 * Self.dollar, recent: 10 * Self.dollar, now: now)
        #expect(line.dailyBurn == Double(5 * Self.dollar) && line.projected == 10 * Self.dollar + 5 * Self.dollar * 28)
    }

    @Test func teamsGrowWeekOverWeek() {
        let start = Self.november.start
        let now = UsageReport.parseDay("2026-11-21")!
        let team = Forecast.team(
            "platform", monthToDate: 40 * Self.dollar, lastWeek: 14 * Self.dollar, previousWeek: 10 * Self.dollar, monthStart: start,
            monthEnd: Self.november.end!, now: now)
        #expect(team.weekOverWeek == 0.4 && team.dailyBurn == Double(2 * Self.dollar) && team.projectedMonth == 60 * Self.dollar)
        let new = Forecast.team("new", monthToDate: 1, lastWeek: 1, previousWeek: 0, monthStart: start, monthEnd: Self.november.end!, now: now)
        #expect(new.weekOverWeek == nil)
    }
}

/// Spend spikes against the rolling baseline of the days before.
@Suite struct SpendAnomalyTests {
    @Test func anHourFarAboveTheBaselineIsASpike() {
        let dollar: Int64 = 1_000_000_000
        var hours: [Int64: Int64] = [:]
        for hour in Int64(1_000)..<Int64(1_168) { hours[hour] = dollar }  // $1 an hour for 7 days
        hours[1_168] = 2 * dollar  // twice: not a spike
        hours[1_169] = 5 * dollar  // five times: a spike
        let rules = AnomalyRules()
        let spikes = rules.spikes(team: "platform", hours: hours, checked: 1_160...1_170)
        #expect(spikes.map(\.hour) == [1_169])
        #expect(spikes.first?.baseline ?? 0 >= dollar && spikes.first?.text.contains("team 'platform' spent $5.000000") == true)
        // Small spend over nothing is not a spike: below the hourly minimum.
        #expect(rules.spikes(team: "new", hours: [5_000: dollar / 2], checked: 4_990...5_010).isEmpty)
        let fresh = rules.spikes(team: "new", hours: [5_000: 3 * dollar], checked: 4_990...5_010)
        #expect(fresh.count == 1 && fresh[0].text.contains("with no spend in the days before"))
    }
}
