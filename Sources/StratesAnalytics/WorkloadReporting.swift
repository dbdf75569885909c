import Foundation
import StratesCore
import StratesLedger

/// Builds the workload profile from the ledger for the CLI and the API.
public enum WorkloadReporting {
    public static func make(database: any WorkloadStore, rules: WorkloadRules, since: Date, until: Date, team: String?) async throws -> WorkloadReport {
        let builder = try await database.runProfiles(from: since, to: until, team: team, rules: rules, into: WorkloadReport.Builder())
        let without = try await database.callsWithoutRun(from: since, to: until, team: team)
        return builder.report(callsWithoutRun: without, rules: rules, since: since, until: until)
    }
}
