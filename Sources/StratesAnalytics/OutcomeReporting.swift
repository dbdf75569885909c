import Foundation
import StratesCore
import StratesLedger

/// Builds the outcome and efficiency reports from the ledger for the CLI and the API: runs
/// started in the window, grouped by `by`, with the outcomes recorded for them since the
/// window began (outcomes come after their runs: a merge days later).
public enum OutcomeReporting {
    public static let groupings = ["workflow", "team", "member", "model"]

    /// The sums both reports are made from.
    public static func tally(database: any WorkloadStore, by: String, since: Date, until: Date, team: String?) async throws -> OutcomeTally {
        try await database.runOutcomes(from: since, to: until, team: team, by: by, into: OutcomeTally.Builder()).tally
    }

    public static func make(database: any WorkloadStore, by: String, since: Date, until: Date, team: String?) async throws -> OutcomeReport {
        let tally = try await tally(database: database, by: by, since: since, until: until, team: team)
        return OutcomeReport.make(tally: tally, by: by, since: since, until: until)
    }

    public static func efficiency(database: any WorkloadStore, by: String, since: Date, until: Date, team: String?) async throws -> EfficiencyReport {
        let tally = try await tally(database: database, by: by, since: since, until: until, team: team)
        return EfficiencyReport.make(tally: tally, by: by, since: since, until: until)
    }
}
