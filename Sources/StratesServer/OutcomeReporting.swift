import Foundation
import StratesCore
import StratesLedger

/// Builds the outcome report from the ledger for the CLI and the API.
public enum OutcomeReporting {
    public static let groupings = ["workflow", "team", "member", "model"]

    public static func make(database: any LedgerDatabase, by: String, since: Date, until: Date, team: String?) async throws -> OutcomeReport {
        let (runs, outcomes) = try await read(database: database, by: by, since: since, until: until, team: team)
        return OutcomeReport.make(runs: runs, outcomes: outcomes, by: by, since: since, until: until)
    }

    public static func efficiency(database: any LedgerDatabase, by: String, since: Date, until: Date, team: String?) async throws -> EfficiencyReport {
        let (runs, outcomes) = try await read(database: database, by: by, since: since, until: until, team: team)
        return EfficiencyReport.make(runs: runs, outcomes: outcomes, by: by, since: since, until: until)
    }

    /// Runs started in the window, named by their group, and the outcomes recorded for them.
    static func read(database: any LedgerDatabase, by: String, since: Date, until: Date, team: String?) async throws -> ([OutcomeReport.RunLine], [Outcome]) {
        let totals = try await database.runTotals(from: since, to: until, team: team)
        let runs = totals.map { total -> OutcomeReport.RunLine in
            let group = switch by {
            case "team": total.team
            case "member": total.member
            case "model": total.model
            default: total.workflow
            }
            return OutcomeReport.RunLine(run: total.run, group: group ?? "(none)", tokens: total.tokens, cost: total.cost)
        }
        // Outcomes come after their runs (a merge days later): all of those recorded since the window began.
        let names = Set(totals.map(\.run))
        let outcomes = try await database.outcomes(from: since, to: .distantFuture).filter { names.contains($0.run) }
        return (runs, outcomes)
    }
}
