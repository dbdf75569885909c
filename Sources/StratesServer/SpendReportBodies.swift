import Foundation
import StratesAnalytics
import StratesCore
import StratesLedger

// The reports over spend (usage, flow, forecast, spikes, benefits, reconciliation) as JSON
// and CSV. The reports are values built in StratesAnalytics; their members are listed here.

/// `GET /api/usage` and `strates usage`: usage rows grouped by the dimensions asked for.
public struct UsageReportBody: ReportBody {
    public var rows: [UsageRow]
    public var groupBy: [UsageDimension]

    public init(rows: [UsageRow], groupBy: [UsageDimension]) {
        self.rows = rows
        self.groupBy = groupBy
    }

    struct RowBody: APIRepresentable {
        var row: UsageRow

        func encodeFields(_ fields: inout APIFields) throws {
            try fields.put("group", row.group)
            try fields.put("requests", row.requests)
            try fields.put("input_tokens", row.usage.input)
            try fields.put("cache_read_tokens", row.usage.cacheRead)
            try fields.put("cache_write_5m_tokens", row.usage.cacheWrite5m)
            try fields.put("cache_write_1h_tokens", row.usage.cacheWrite1h)
            try fields.put("output_tokens", row.usage.output)
            try fields.put("reasoning_tokens", row.usage.reasoning)
            try fields.put("cost_nano_usd", row.cost.value)
            try fields.put("cost_usd", row.cost.dollars)
            try fields.put("unknown_cost_requests", row.unknownCostRequests)
            try fields.put("estimated_requests", row.estimatedRequests)
            try fields.put("failed_requests", row.failedRequests)
        }
    }

    public func encodeFields(_ fields: inout APIFields) throws {
        try fields.put("group_by", groupBy.map(\.rawValue))
        try fields.put("rows", objects: rows.map(RowBody.init))
        try fields.put("total", object: RowBody(row: UsageReport.total(rows)))
    }

    public var csvHeader: [String] { groupBy.map(\.rawValue) + UsageReport.tokenColumns }

    public var csvRows: [[String]] {
        rows.map { row in groupBy.map { row.group[$0.rawValue] ?? "" } + UsageReport.values(row) }
    }

    /// The report in `format`: JSON, CSV, or the table people read.
    public func text(_ format: UsageReport.Format) -> String {
        switch format {
        case .json: APIJSON.text(self, pretty: true) + "\n"
        case .csv: APICSV.text(self)
        case .table: UsageReport.table(rows, groupBy: groupBy)
        }
    }
}

extension FlowReport: APIRepresentable, CSVRepresentable {
    struct GroupBody: APIRepresentable {
        var group: Group
        var nested: Bool

        func encodeFields(_ fields: inout APIFields) throws {
            try fields.put("key", group.key)
            try fields.put("requests", group.requests)
            try fields.put("tokens", group.tokens)
            try fields.put("spend_usd", dollars: NanoUSD(group.cost))
            try fields.put("share", rounded(group.share, places: 4))
            if !group.trend.isEmpty { try fields.put("trend_usd", group.trend.map { NanoUSD($0).dollars }) }
            if nested { try fields.put("children", objects: group.children.map { GroupBody(group: $0, nested: nested) }) }
        }
    }

    public func encodeFields(_ fields: inout APIFields) throws {
        try fields.put("by", dimensions.map(\.rawValue))
        try fields.put("since", time: since)
        try fields.put("until", time: until)
        try fields.put("trend", trendUnit.rawValue)
        try fields.put("periods", periods)
        try fields.put("requests", requests)
        try fields.put("tokens", tokens)
        try fields.put("spend_usd", dollars: NanoUSD(cost))
        try fields.put("groups", objects: groups.map { GroupBody(group: $0, nested: dimensions.count > 1) })
    }

    public var csvHeader: [String] { ["group", "subgroup", "requests", "tokens", "spend_usd", "share"] }

    public var csvRows: [[String]] {
        func row(_ parent: String, _ child: String, _ group: Group) -> [String] {
            [parent, child, String(group.requests), String(group.tokens), NanoUSD(group.cost).dollars, roundedText(group.share, places: 4)]
        }
        return groups.flatMap { group in
            group.children.isEmpty ? [row(group.key, "", group)] : group.children.map { row(group.key, $0.key, $0) }
        }
    }
}

extension Forecast: APIRepresentable, CSVRepresentable {
    struct BudgetLineBody: APIRepresentable {
        var line: BudgetLine

        func encodeFields(_ fields: inout APIFields) throws {
            let unit = line.budget.unit
            func amount(_ value: Int64) -> UnitAmount { UnitAmount(unit: unit, amount: value) }
            try fields.put("budget", line.budget.name)
            try fields.put("scope", line.budget.scope.text)
            try fields.put("period", line.budget.period.text)
            try fields.put("unit", unit.rawValue)
            try fields.put("limit", amount(line.budget.limit))
            try fields.put("spent", amount(line.spent))
            try fields.put("daily_burn", amount(Int64(line.dailyBurn.rounded())))
            try fields.put("projected", line.projected.map(amount))
            try fields.put("period_ends", time: line.window.end)
            try fields.put("exhausted_at", time: line.exhaustsAt)
            try fields.put("days_until_exhausted", line.daysLeft.map { rounded($0, places: 1) })
        }
    }

    struct TeamLineBody: APIRepresentable {
        var line: TeamLine

        func encodeFields(_ fields: inout APIFields) throws {
            try fields.put("team", line.team)
            try fields.put("month_to_date_usd", dollars: NanoUSD(line.monthToDate))
            try fields.put("last_7_days_usd", dollars: NanoUSD(line.lastWeek))
            try fields.put("previous_7_days_usd", dollars: NanoUSD(line.previousWeek))
            try fields.put("daily_burn_usd", dollars: NanoUSD(Int64(line.dailyBurn.rounded())))
            try fields.put("projected_month_usd", dollars: NanoUSD(line.projectedMonth))
            try fields.put("week_over_week", line.weekOverWeek.map { rounded($0, places: 3) })
        }
    }

    public func encodeFields(_ fields: inout APIFields) throws {
        try fields.put("at", time: at)
        try fields.put("method", Self.method)
        try fields.put("budgets", objects: budgets.map(BudgetLineBody.init))
        try fields.put("teams", objects: teams.map(TeamLineBody.init))
    }

    public var csvHeader: [String] {
        [
            "kind", "name", "scope", "unit", "spent", "limit", "daily_burn", "projected", "exhausted_at", "days_until_exhausted", "last_7_days_usd",
            "previous_7_days_usd", "week_over_week",
        ]
    }

    /// Budgets and teams in one table: `kind` says which, and each fills its own columns
    /// (a budget's amounts are in its unit, dollars or tokens; a team's in dollars).
    public var csvRows: [[String]] {
        let budgetRows = budgets.map { line -> [String] in
            let value = { (amount: Int64) in line.budget.unit == .usd ? NanoUSD(amount).dollars : String(amount) }
            return [
                "budget", line.budget.name, line.budget.scope.text, line.budget.unit.rawValue, value(line.spent), value(line.budget.limit),
                value(Int64(line.dailyBurn.rounded())), line.projected.map(value) ?? "", line.exhaustsAt.map(BudgetText.timestamp) ?? "",
                line.daysLeft.map { roundedText($0, places: 1) } ?? "", "", "", "",
            ]
        }
        let teamRows = teams.map { line -> [String] in
            [
                "team", line.team, "team:\(line.team)", "usd", NanoUSD(line.monthToDate).dollars, "", NanoUSD(Int64(line.dailyBurn.rounded())).dollars,
                NanoUSD(line.projectedMonth).dollars, "", "", NanoUSD(line.lastWeek).dollars, NanoUSD(line.previousWeek).dollars,
                line.weekOverWeek.map { roundedText($0, places: 3) } ?? "",
            ]
        }
        return budgetRows + teamRows
    }
}

extension SpendAnomaly: APIRepresentable {
    public func encodeFields(_ fields: inout APIFields) throws {
        try fields.put("team", team)
        try fields.put("hour", time: start)
        try fields.put("spend_usd", dollars: NanoUSD(spend))
        try fields.put("baseline_usd", dollars: NanoUSD(baseline))
        try fields.put("factor", baseline > 0 ? rounded(factor, places: 1) : nil)
    }
}

/// The spend spikes of a window, as one report: `{"spikes": [...]}`.
public struct SpikeList: ReportBody {
    public var spikes: [SpendAnomaly]
    public init(_ spikes: [SpendAnomaly]) { self.spikes = spikes }

    public func encodeFields(_ fields: inout APIFields) throws {
        try fields.put("spikes", objects: spikes)
    }

    public var csvHeader: [String] { ["team", "hour", "spend_usd", "baseline_usd", "factor"] }

    public var csvRows: [[String]] {
        spikes.map { spike in
            [
                spike.team, BudgetText.timestamp(spike.start), NanoUSD(spike.spend).dollars, NanoUSD(spike.baseline).dollars,
                spike.baseline > 0 ? roundedText(spike.factor, places: 1) : "",
            ]
        }
    }
}

extension GrantTally {
    struct Body: APIRepresentable {
        var tally: GrantTally
        var unit: BudgetUnit

        func encodeFields(_ fields: inout APIFields) throws {
            try fields.put("granted", UnitAmount(unit: unit, amount: tally.granted))
            try fields.put("used", UnitAmount(unit: unit, amount: tally.used))
            try fields.put("unused", UnitAmount(unit: unit, amount: tally.unused))
            try fields.put("lapsed", UnitAmount(unit: unit, amount: tally.lapsed))
        }
    }
}

extension BenefitLine: APIRepresentable {
    public func encodeFields(_ fields: inout APIFields) throws {
        try fields.put("member", member)
        try fields.put("teams", teams)
        try fields.put("personal_requests", requests)
        try fields.put("personal_tokens", tokens)
        try fields.put("list_value_usd", dollars: NanoUSD(listValue))
        try fields.put("contract_cost_usd", dollars: NanoUSD(contractCost))
        try fields.put("discount_usd", dollars: NanoUSD(listValue - contractCost))
        try fields.put("unpriced_requests", unpricedRequests)
        try fields.put("grants_usd", object: GrantTally.Body(tally: usdGrants, unit: .usd))
        try fields.put("grants_tokens", object: GrantTally.Body(tally: tokenGrants, unit: .tokens))
        try fields.put("grants", grantNames)
    }
}

extension BenefitsReport: APIRepresentable, CSVRepresentable {
    public func encodeFields(_ fields: inout APIFields) throws {
        try fields.put("period", period.label)
        try fields.put("start", time: period.start)
        try fields.put("end", time: period.end)
        try fields.put("grant_purpose", purpose)
        try fields.put("members", objects: lines)
        try fields.put("totals", object: totals)
    }

    public var csvHeader: [String] {
        [
            "period", "member", "teams", "personal_requests", "personal_tokens", "list_value_usd", "contract_cost_usd", "discount_usd",
            "unpriced_requests", "grant_usd_granted", "grant_usd_used", "grant_usd_unused", "grant_usd_lapsed", "grant_tokens_granted",
            "grant_tokens_used", "grant_tokens_unused", "grant_tokens_lapsed", "grants",
        ]
    }

    /// One row per member, dollars with six decimals, for payroll.
    public var csvRows: [[String]] {
        lines.map { line in
            [
                period.label, line.member, line.teams.joined(separator: ";"), String(line.requests), String(line.tokens),
                NanoUSD(line.listValue).dollars, NanoUSD(line.contractCost).dollars, NanoUSD(line.listValue - line.contractCost).dollars,
                String(line.unpricedRequests), NanoUSD(line.usdGrants.granted).dollars, NanoUSD(line.usdGrants.used).dollars,
                NanoUSD(line.usdGrants.unused).dollars, NanoUSD(line.usdGrants.lapsed).dollars, String(line.tokenGrants.granted),
                String(line.tokenGrants.used), String(line.tokenGrants.unused), String(line.tokenGrants.lapsed), line.grantNames.joined(separator: ";"),
            ]
        }
    }
}

extension Reconciliation.Line: APIRepresentable {
    public func encodeFields(_ fields: inout APIFields) throws {
        try fields.put("day", UsageReport.dayText(day))
        try fields.put("model", model)
        try fields.put("ledger_requests", ledgerRequests)
        try fields.put("estimated_requests", estimatedRequests)
        try fields.put("ledger_tokens", ledgerUsage.total)
        try fields.put("ledger_cost_usd", dollars: ledgerCost)
        if let exportUsage { try fields.put("provider_tokens", exportUsage.total) }
        if let exportCost { try fields.put("provider_cost_usd", dollars: exportCost) }
        try fields.put("flagged", flagged)
        try fields.put("causes", causes)
    }
}

extension Reconciliation: APIRepresentable {
    public func encodeFields(_ fields: inout APIFields) throws {
        try fields.put("provider", provider)
        try fields.put("measure", measure.rawValue)
        try fields.put("threshold_percent", thresholdPercent)
        try fields.put("differences", differences)
        try fields.put("lines", objects: lines)
    }
}
