import Foundation
import StratesTestSupport
import Testing

@testable import StratesAnalytics
@testable import StratesCore
@testable import StratesLedger
@testable import StratesLedgerSQLite
@testable import StratesServer

/// The ledger streams run profiles and outcomes into the workload, outcome and efficiency
/// reports; they must say what the same reports say over the runs and outcomes read into
/// memory, for any window, team filter and grouping.
@Suite struct StreamedReportTests {
    static func sorted(_ tally: OutcomeTally) -> OutcomeTally {
        var tally = tally
        tally.groups.sort { $0.group < $1.group }
        tally.kinds.sort { ($0.kind.rawValue, $0.group ?? "") < ($1.kind.rawValue, $1.group ?? "") }
        return tally
    }

    /// A ledger of eighty runs over three days, and ninety outcomes (some for runs that do
    /// not exist, some recorded before a window starts).
    static func ledger() async throws -> SQLiteLedger {
        let ledger = try SQLiteLedger(inMemory: ())
        var random = LedgerSamples.Seeded(state: 77)
        // Eighty runs, each a few hours long, starting anywhere in three days.
        let starts = (0..<80).map { _ in Double(LedgerSamples.start) / 1000 + Double(random.next(70 * 3_600)) }
        let records = LedgerSamples.records(count: 800, seed: 21).map { record -> RequestRecord in
            var record = record
            let number = random.next(starts.count)
            record.startedAt = Date(timeIntervalSince1970: starts[number] + Double(random.next(3 * 3_600)))
            let child = random.next(4) == 0
            record.attribution.run = child ? "r\(number)/sub" : "r\(number)"
            record.attribution.parentRun = child ? "r\(number)" : nil
            return record
        }
        try await ledger.insert(records)
        let runs = Set(records.compactMap { $0.attribution.parentRun ?? $0.attribution.run }).sorted()
        for index in 0..<90 {
            // Some outcomes name runs that do not exist, some come before any window starts.
            let run = random.next(8) == 0 ? "ghost\(index)" : random.pick(runs)
            let kind = random.pick(Outcome.Kind.allCases)
            let at = Date(timeIntervalSince1970: Double(LedgerSamples.start) / 1000 + Double(random.next(76 * 3_600)) - 4 * 3_600)
            let outcome = Outcome(
                id: "o\(index)", at: at, run: run, kind: kind, ref: "ref\(index)", quantity: random.next(3) == 0 ? nil : Int64(random.next(300)),
                value: random.next(2) == 0 ? nil : NanoUSD(Int64(random.next(50_000)))
            )
            #expect(try await ledger.record(outcome))
        }
        return ledger
    }

    @Test func outcomeSumsMatchTheSumsOverRunsInMemory() async throws {
        let ledger = try await Self.ledger()
        var random = LedgerSamples.Seeded(state: 78)
        for query in 0..<24 {
            let from = Date(timeIntervalSince1970: Double(LedgerSamples.start) / 1000 + Double(random.next(40 * 3_600)))
            let to = from.addingTimeInterval(Double(1 + random.next(60 * 3_600)))
            let team: String? = random.pick([nil, nil, "a", "b"])
            let by = OutcomeReporting.groupings[query % OutcomeReporting.groupings.count]
            let totals = try await ledger.runTotals(from: from, to: to, team: team)
            let lines = totals.map { total in
                let group =
                    switch by {
                    case "team": total.team
                    case "member": total.member
                    case "model": total.model
                    default: total.workflow
                    }
                return OutcomeReport.RunLine(run: total.run, group: group ?? "(none)", tokens: total.tokens, cost: total.cost)
            }
            let names = Set(totals.map(\.run))
            let outcomes = try await ledger.outcomes(from: from, to: .distantFuture).filter { names.contains($0.run) }
            let expected = Self.sorted(OutcomeTally.of(runs: lines, outcomes: outcomes))
            let summed = Self.sorted(try await OutcomeReporting.tally(database: ledger, by: by, since: from, until: to, team: team))
            #expect(summed == expected, "query \(query): \(by), team \(team ?? "any")")
            #expect(
                APIJSON.text(OutcomeReport.make(tally: summed, by: by, since: from, until: to))
                    == APIJSON.text(OutcomeReport.make(runs: lines, outcomes: outcomes, by: by, since: from, until: to)))
        }
        // Enough happened for the comparison to mean something.
        let whole = try await OutcomeReporting.tally(
            database: ledger, by: "model", since: Date(timeIntervalSince1970: 0), until: Date(timeIntervalSince1970: 4_000_000_000), team: nil)
        #expect(whole.whole.runsWithOutcome > 3 && whole.whole.zeroOutputRuns > 0 && whole.kinds.count > 3)
    }
}

extension StreamedReportTests {
    @Test func workloadReportMatchesTheReportOverProfilesInMemory() async throws {
        let ledger = try await Self.ledger()
        var random = LedgerSamples.Seeded(state: 79)
        var rules = WorkloadRules()
        for query in 0..<12 {
            let from = Date(timeIntervalSince1970: Double(LedgerSamples.start) / 1000 + Double(random.next(40 * 3_600)))
            let to = from.addingTimeInterval(Double(1 + random.next(60 * 3_600)))
            let team: String? = random.pick([nil, "a", "b"])
            if query == 6 { rules.promptMaxCalls = 6 }
            let (runs, without) = try await ledger.workloadProfiles(from: from, to: to, team: team, rules: rules)
            let expected = WorkloadReport.make(runs: runs, callsWithoutRun: without, rules: rules, since: from, until: to)
            let streamed = try await WorkloadReporting.make(database: ledger, rules: rules, since: from, until: to, team: team)
            #expect(streamed.lines == expected.lines && streamed.callsWithoutRun == expected.callsWithoutRun, "query \(query)")
            #expect(APIJSON.text(streamed) == APIJSON.text(expected))
        }
        let month = try await WorkloadReporting.make(
            database: ledger, rules: rules, since: Date(timeIntervalSince1970: 0), until: Date(timeIntervalSince1970: 4_000_000_000), team: nil)
        #expect(month.lines.count > 3 && month.lines.contains { $0.runs > 5 })
    }
}
