import Foundation
import StratesCore
import StratesLedger

/// Builds the workload profile from the ledger for the CLI and the API.
public enum WorkloadReporting {
    public static func make(database: any WorkloadStore, rules: WorkloadRules, since: Date, until: Date, team: String?) async throws -> WorkloadReport {
        try await database.workloadReport(from: since, to: until, team: team, rules: rules)
    }
}
