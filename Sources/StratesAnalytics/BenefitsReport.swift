import Foundation
import StratesCore

/// The month or year a benefits report covers, in a time zone.
public struct ReportPeriod: Sendable, Equatable {
    public var label: String
    public var start: Date
    public var end: Date

    /// `2026-11` (a month) or `2026` (a year), starting at midnight in `timeZone`.
    public init?(_ text: String, timeZone: TimeZone) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), parts[0].count == 4, let year = Int(parts[0]), year >= 2000, year < 3000 else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        var components = DateComponents(year: year, month: 1, day: 1)
        let length: DateComponents
        if parts.count == 2 {
            guard parts[1].count == 2, let month = Int(parts[1]), (1...12).contains(month) else { return nil }
            components.month = month
            length = DateComponents(month: 1)
        } else {
            length = DateComponents(year: 1)
        }
        guard let start = calendar.date(from: components), let end = calendar.date(byAdding: length, to: start) else { return nil }
        self.label = text
        self.start = start
        self.end = end
    }

    public static let problem = "the period is a month (2026-11) or a year (2026)"
}

/// What a member's grants of one unit gave, and what of it was used, left and lapsed, in a period.
public struct GrantTally: Sendable, Equatable {
    /// New money in the period: allocations of periods starting in it, and transfers.
    public var granted: Int64 = 0
    /// Drawn by personal use in the period.
    public var used: Int64 = 0
    /// Left at the end of the period (or now, if it is not over); what of it does not roll
    /// over lapses then, and is counted in `lapsed` too.
    public var unused: Int64 = 0
    /// Lapsed at period ends or expiry within the period.
    public var lapsed: Int64 = 0

    public init(granted: Int64 = 0, used: Int64 = 0, unused: Int64 = 0, lapsed: Int64 = 0) {
        self.granted = granted
        self.used = used
        self.unused = unused
        self.lapsed = lapsed
    }
}

/// One member's personal use in a period: its value at list price (the benefit's face value)
/// and what it cost the organization (its contract price), and their grants.
public struct BenefitLine: Sendable, Equatable {
    public var member: String
    public var teams: [String] = []
    public var requests: Int64 = 0
    public var tokens: Int64 = 0
    /// Nano-USD at list price, no contract discount.
    public var listValue: Int64 = 0
    /// Nano-USD as the ledger priced it: the contract cost.
    public var contractCost: Int64 = 0
    /// Requests without a known price: in neither sum.
    public var unpricedRequests: Int64 = 0
    public var usdGrants = GrantTally()
    public var tokenGrants = GrantTally()
    public var grantNames: [String] = []

    public init(member: String) { self.member = member }
}

/// The benefits report: per member and period, personal-use value at list price and at
/// contract cost, and grants granted, used, unused and lapsed — for payroll and tax.
public struct BenefitsReport: Sendable {
    public var period: ReportPeriod
    public var purpose: String?
    public var lines: [BenefitLine]

    /// Builds the report from the personal-environment records of the period, the
    /// statements of the members' grants (at the period's end, or now), and the list price.
    /// `purpose` keeps only grants of that purpose (nil: all).
    public static func make(
        period: ReportPeriod, records: [RequestRecord], statements: [GrantStatement], purpose: String?,
        listCost: (RequestRecord) -> NanoUSD?
    ) -> BenefitsReport {
        var lines: [String: BenefitLine] = [:]
        let statements = statements.filter { purpose == nil || $0.grant.purpose == purpose }
        let grants = Dictionary(statements.map { ($0.grant.id, $0.grant) }, uniquingKeysWith: { first, _ in first })
        for record in records where record.attribution.environment == .personal && record.startedAt >= period.start && record.startedAt < period.end {
            let member = record.attribution.member ?? "(none)"
            var line = lines[member] ?? BenefitLine(member: member)
            if let team = record.attribution.team, !line.teams.contains(team) { line.teams.append(team) }
            line.requests += 1
            line.tokens += record.usage.total
            if let cost = record.cost, let list = listCost(record) {
                line.contractCost += cost.value
                line.listValue += list.value
            } else {
                line.unpricedRequests += 1
            }
            if let id = record.grantID, let grant = grants[id] {
                let drawn = grant.unit == .usd ? (record.cost?.value ?? 0) : record.usage.total
                if grant.unit == .usd { line.usdGrants.used += drawn } else { line.tokenGrants.used += drawn }
            }
            lines[member] = line
        }
        for statement in statements {
            let grant = statement.grant
            var line = lines[grant.member] ?? BenefitLine(member: grant.member)
            line.grantNames.append(grant.name)
            var tally = grant.unit == .usd ? line.usdGrants : line.tokenGrants
            let overlapping = statement.periods.filter { $0.window.start < period.end && ($0.window.end ?? .distantFuture) > period.start }
            for part in overlapping {
                if part.window.start >= period.start { tally.granted += part.allocated }
                tally.granted += part.adjusted
                if let end = part.window.end, end <= period.end { tally.lapsed += part.lapsed ?? 0 }
            }
            // What was left when the period ended (or now): part of it may lapse then.
            tally.unused += max(0, overlapping.last?.left ?? 0)
            if grant.unit == .usd { line.usdGrants = tally } else { line.tokenGrants = tally }
            lines[grant.member] = line
        }
        return BenefitsReport(period: period, purpose: purpose, lines: lines.values.sorted { $0.member < $1.member })
    }

    public var totals: BenefitLine {
        var total = BenefitLine(member: "TOTAL")
        for line in lines {
            total.requests += line.requests
            total.tokens += line.tokens
            total.listValue += line.listValue
            total.contractCost += line.contractCost
            total.unpricedRequests += line.unpricedRequests
            for path in [\BenefitLine.usdGrants, \BenefitLine.tokenGrants] {
                total[keyPath: path].granted += line[keyPath: path].granted
                total[keyPath: path].used += line[keyPath: path].used
                total[keyPath: path].unused += line[keyPath: path].unused
                total[keyPath: path].lapsed += line[keyPath: path].lapsed
            }
        }
        return total
    }

    /// The table `strates report benefits` prints, with a total row.
    public var table: [[String]] {
        let header = [
            "member", "requests", "tokens", "list value", "contract cost", "grants $ used", "$ unused", "$ lapsed", "grants tok used", "tok unused", "unpriced",
        ]
        let row: (BenefitLine) -> [String] = { line in
            [
                line.member, String(line.requests), String(line.tokens), NanoUSD(line.listValue).description, NanoUSD(line.contractCost).description,
                NanoUSD(line.usdGrants.used).description, NanoUSD(line.usdGrants.unused).description, NanoUSD(line.usdGrants.lapsed).description,
                String(line.tokenGrants.used), String(line.tokenGrants.unused), String(line.unpricedRequests),
            ]
        }
        return [header] + lines.map(row) + [row(totals)]
    }
}
