import Foundation
import StratesCore
import StratesLedger

/// Builds the outcome and efficiency reports from the ledger for the CLI and the API: runs
/// started in the window, grouped by `by`, with the outcomes recorded for them since the
/// window began (outcomes come after their runs: a merge days later).
public enum OutcomeReporting {
    public static let groupings = ["workflow", "team", "member", "model"]

    public static func make(database: any LedgerDatabase, by: String, since: Date, until: Date, team: String?) async throws -> OutcomeReport {
        let tally = try await database.outcomeTally(from: since, to: until, team: team, by: by)
        return OutcomeReport.make(tally: tally, by: by, since: since, until: until)
    }

    public static func efficiency(database: any LedgerDatabase, by: String, since: Date, until: Date, team: String?) async throws -> EfficiencyReport {
        let tally = try await database.outcomeTally(from: since, to: until, team: team, by: by)
        return EfficiencyReport.make(tally: tally, by: by, since: since, until: until)
    }
}
