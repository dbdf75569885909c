import Foundation
import StratesCore
import StratesLedger

/// Builds the workload profile from the ledger for the CLI and the API.
public enum WorkloadReporting {
    public static func make(database: any WorkloadStore, rules: WorkloadRules, since: Date, until: Date, team: String?) async throws -> WorkloadReport {
        let (calls, withoutRun) = try await database.workloadCalls(from: since, to: until, team: team)
        var runs: [RunProfile] = []
        var start = calls.startIndex
        while start < calls.endIndex {
            let root = calls[start].root
            var end = start
            while end < calls.endIndex, calls[end].root == root { end += 1 }
            let group = calls[start..<end]
            // The session's own workflow; its subagents inherit it.
            let workflow = group.first { $0.run == root }?.workflow ?? group.first?.workflow ?? "(none)"
            let children = Set(group.map(\.run)).subtracting([root]).count
            let calls = group.map { row in
                var call = row.call
                call.child = row.run != root
                return call
            }
            runs.append(RunProfile.make(run: root, workflow: workflow ?? "(none)", calls: calls, childRuns: children, rules: rules))
            start = end
        }
        return WorkloadReport.make(runs: runs, callsWithoutRun: withoutRun, rules: rules, since: since, until: until)
    }
}
