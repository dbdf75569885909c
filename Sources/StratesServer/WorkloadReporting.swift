import Foundation
import StratesCore
import StratesLedger

/// Builds the workload profile from the ledger for the CLI and the API.
public enum WorkloadReporting {
    public static func make(database: any WorkloadStore, rules: WorkloadRules, since: Date, until: Date, team: String?) async throws -> WorkloadReport {
        let (runs, withoutRun) = try await database.workloadProfiles(from: since, to: until, team: team, rules: rules)
        return WorkloadReport.make(runs: runs, callsWithoutRun: withoutRun, rules: rules, since: since, until: until)
    }
}
