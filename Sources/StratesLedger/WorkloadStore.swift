import Foundation
import StratesCore

/// Runs and their profiles, for `strates report workloads` and the outcome reports.
public protocol WorkloadStore: Sendable {
    /// `strates report workloads` over the runs whose first call is in [from, to).
    func workloadReport(from: Date, to: Date, team: String?, rules: WorkloadRules) async throws -> WorkloadReport
    /// The outcome and efficiency reports' sums for runs started in [from, to), grouped by
    /// `by` (workflow, team, member or model).
    func outcomeTally(from: Date, to: Date, team: String?, by: String) async throws -> OutcomeTally
    /// Spend per team and hour (hours since 1970, UTC) for requests started in [from, to).
    func hourlySpendByTeam(from: Date, to: Date) async throws -> [String: [Int64: Int64]]
}
