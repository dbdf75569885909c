import Foundation
import StratesCore

/// What takes the run profiles a store streams past it, one at a time (a month holds
/// hundreds of thousands of runs, so they are never read whole): the workload report's builder.
public protocol RunProfileSink: Sendable {
    mutating func add(_ run: RunProfile)
}

/// What takes the outcomes and run totals a store streams past it: first every outcome that
/// may belong to the runs, then each run with its group. The outcome tally's builder.
public protocol RunOutcomeSink: Sendable {
    mutating func record(run: String, kind: Outcome.Kind, quantity: Int64?, value: Int64?)
    mutating func add(run: String, group: String, tokens: Int64, cost: Int64)
}

/// Runs and their profiles, for the workload, outcome and efficiency reports.
public protocol WorkloadStore: Sendable {
    /// The profiles, under `rules`, of the runs whose first call is in [from, to), handed
    /// to `sink` one by one (only their measures: the run's name is left empty); the sink
    /// is returned with them all added.
    func runProfiles<Sink: RunProfileSink>(from: Date, to: Date, team: String?, rules: WorkloadRules, into sink: Sink) async throws -> Sink
    /// Calls in [from, to) that belong to no run.
    func callsWithoutRun(from: Date, to: Date, team: String?) async throws -> Int64
    /// The outcomes recorded since `from`, then the runs started in [from, to) with their
    /// group under `by` (workflow, team, member or model), handed to `sink`.
    func runOutcomes<Sink: RunOutcomeSink>(from: Date, to: Date, team: String?, by: String, into sink: Sink) async throws -> Sink
    /// Spend per team and hour (hours since 1970, UTC) for requests started in [from, to).
    func hourlySpendByTeam(from: Date, to: Date) async throws -> [String: [Int64: Int64]]
}
