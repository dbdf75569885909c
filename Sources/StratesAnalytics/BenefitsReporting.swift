import Foundation
import StratesCore
import StratesGateway
import StratesLedger

/// Gathers what the benefits report needs from the ledger — the period's personal-use
/// records and the statements of the members' grants at its end — for the CLI and the API.
public enum BenefitsReporting {
    /// `members`: only these members (a team admin's team); nil: everyone.
    public static func make(
        database: any LedgerDatabase, pricing: Pricing, organization: String, period: ReportPeriod, purpose: String?,
        members: Set<String>? = nil, now: Date = Date()
    ) async throws -> BenefitsReport {
        let records = try await database.requests(organization: organization, environment: .personal, from: period.start, to: period.end)
        let at = min(period.end, now)
        var statements: [GrantStatement] = []
        for grant in try await database.rules(Grant.self) where grant.startsAt < period.end {
            statements.append(try await database.statement(of: grant, at: at))
        }
        var report = BenefitsReport.make(period: period, records: records, statements: statements, purpose: purpose) { pricing.listCost(of: $0) }
        if let members { report.lines.removeAll { !members.contains($0.member) } }
        return report
    }
}
