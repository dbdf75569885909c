import Foundation
import GRDB
import StratesTestSupport
import Testing

@testable import StratesCore
@testable import StratesLedger
@testable import StratesLedgerSQLite

/// The rollups must give exactly what summing the requests gives, for any window (whole
/// hours or not), grouping and filter, after gateway inserts, import updates and the
/// migration that builds them from an existing ledger.
@Suite struct RollupTests {
    /// A small deterministic generator (the tests must fail the same way twice).
    /// Writes `records` through `sql` (an insert of every column, as `insertRequestSQL`) and
    /// nothing else, no rollup: a ledger as an earlier version, or an import stopped half way,
    /// left it.
    static func writeRows(_ records: [RequestRecord], sql: String = SQLiteLedger.insertRequestSQL, _ db: Database) throws {
        let statement = try db.makeStatement(sql: sql)
        for record in records { try RecordBinding.run(statement, record, in: db) }
    }

    static func value(_ record: RequestRecord, _ dimension: UsageDimension) -> String? {
        let a = record.attribution
        switch dimension {
        case .team: return a.team
        case .member: return a.member
        case .key: return a.keyID
        case .workflow: return a.workflow
        case .run: return a.run
        case .process: return a.process
        case .model: return record.servedModel ?? record.requestedModel
        case .provider: return record.provider
        case .environment: return a.environment.rawValue
        case .organization: return a.organization
        case .status: return record.status.rawValue
        case .day:
            let formatter = DateFormatter()
            formatter.timeZone = TimeZone(identifier: "UTC")
            formatter.dateFormat = "yyyy-MM-dd"
            return formatter.string(from: record.startedAt)
        }
    }

    /// The usage report computed by hand from the records.
    /// Requests, usage, cost, unknown-cost requests, and the counts of estimated and failed requests.
    typealias Sum = (Int64, Usage, Int64, Int64, Int64, Int64)

    static func expected(_ records: [RequestRecord], _ query: UsageQuery) -> [[String: String]: Sum] {
        var sums: [[String: String]: Sum] = [:]
        for record in records {
            if let since = query.since, record.startedAt < since { continue }
            if let until = query.until, record.startedAt >= until { continue }
            if query.filters.contains(where: { value(record, $0.key) != $0.value }) { continue }
            var group: [String: String] = [:]
            for dimension in query.groupBy { group[dimension.rawValue] = value(record, dimension) ?? "(none)" }
            var sum = sums[group] ?? (0, Usage(), 0, 0, 0, 0)
            sum.0 += 1
            sum.1 = sum.1 + record.usage
            sum.2 += record.cost?.value ?? 0
            sum.3 += record.cost == nil ? 1 : 0
            sum.4 += record.usageEstimated ? 1 : 0
            sum.5 += record.status == .failed || record.status == .rejected ? 1 : 0
            sums[group] = sum
        }
        return sums
    }

    static func actual(_ rows: [UsageRow]) -> [[String: String]: Sum] {
        Dictionary(
            uniqueKeysWithValues: rows.map {
                ($0.group, ($0.requests, $0.usage, $0.cost.value, $0.unknownCostRequests, $0.estimatedRequests, $0.failedRequests))
            })
    }

    static func check(_ ledger: SQLiteLedger, _ records: [RequestRecord], seed: UInt64, queries: Int = 40) async throws {
        var random = LedgerSamples.Seeded(state: seed)
        let dimensions: [UsageDimension] = [.team, .member, .model, .day, .status, .workflow, .provider, .environment, .key, .run, .process]
        for _ in 0..<queries {
            var query = UsageQuery()
            for _ in 0..<random.next(3) { query.groupBy.append(random.pick(dimensions)) }
            query.groupBy = Array(NSOrderedSet(array: query.groupBy.map(\.rawValue)).array as! [String]).compactMap(UsageDimension.init(rawValue:))
            // Windows on whole hours, inside one hour, across edges, or open.
            let low = LedgerSamples.start - 3_600_000 + Int64(random.next(80 * 3_600_000))
            let high = low + Int64(random.pick([1, 1_800_000, 3_600_000, 7_200_000 + random.next(3_600_000), 50 * 3_600_000]))
            if random.next(5) > 0 { query.since = Date(timeIntervalSince1970: Double(random.next(3) == 0 ? low / 3_600_000 * 3_600_000 : low) / 1000) }
            if random.next(5) > 0 { query.until = Date(timeIntervalSince1970: Double(high) / 1000) }
            if random.next(3) == 0 { query.filters[.team] = random.pick(["a", "b"]) }
            if random.next(4) == 0 { query.filters[.model] = "gpt-4o" }
            let expected = expected(records, query)
            let actual = actual(try await ledger.usage(query))
            #expect(actual.count == expected.count, "\(query)")
            for (group, sum) in expected {
                let got = actual[group]
                #expect(
                    got?.0 == sum.0 && got?.1 == sum.1 && got?.2 == sum.2 && got?.3 == sum.3 && got?.4 == sum.4 && got?.5 == sum.5,
                    "\(query) \(group): \(String(describing: got)) != \(sum)")
            }
            // Calls that belong to no run (what the workload report says it left out).
            let from = query.since ?? Date(timeIntervalSince1970: 0)
            let to = query.until ?? Date(timeIntervalSince1970: 4_000_000_000)
            let team = query.filters[.team]
            let withoutRun = records.filter { record in
                record.attribution.run == nil && record.status != .rejected && record.startedAt >= from && record.startedAt < to
                    && (team == nil || record.attribution.team == team)
            }.count
            #expect(try await ledger.callsWithoutRun(from: from, to: to, team: team) == Int64(withoutRun), "\(query)")
        }
    }

    /// Records in random order, and grouped as an import hands them on (by team, member,
    /// hour and model: runs of records of one rollup cell, which the fold adds up without
    /// looking the cell up again, broken by each dimension within an hour).
    @Test(arguments: [1, 2, 3] as [UInt64], [false, true])
    func usageFromRollupsMatchesTheRequests(seed: UInt64, grouped: Bool) async throws {
        let ledger = try SQLiteLedger(inMemory: ())
        var records = LedgerSamples.records(count: 1_500, seed: seed)
        if grouped {
            records.sort {
                let (a, b) = ($0.attribution, $1.attribution)
                let (hourA, hourB) = (SQLiteLedger.millis($0.startedAt) / 3_600_000, SQLiteLedger.millis($1.startedAt) / 3_600_000)
                return (a.team ?? "", a.member ?? "", hourA, $0.requestedModel, $0.startedAt) < (
                    b.team ?? "", b.member ?? "", hourB, $1.requestedModel, $1.startedAt
                )
            }
        }
        var index = 0
        var random = LedgerSamples.Seeded(state: seed)
        while index < records.count {
            let size = 1 + random.next(200)
            try await ledger.insert(Array(records[index..<min(index + size, records.count)]))
            index += size
        }
        try await ledger.insert(Array(records.prefix(50)))
        try await Self.check(ledger, records, seed: seed)
    }

    @Test func budgetSpendReadsTheSameAsTheRequests() async throws {
        let ledger = try SQLiteLedger(inMemory: ())
        let records = LedgerSamples.records(count: 800, seed: 9)
        try await ledger.insert(records)
        let from = Date(timeIntervalSince1970: Double(LedgerSamples.start + 5 * 3_600_000 + 123_456) / 1000)
        let to = Date(timeIntervalSince1970: Double(LedgerSamples.start + 40 * 3_600_000 + 777) / 1000)
        let inWindow = records.filter { $0.attribution.team == "a" && $0.startedAt >= from && $0.startedAt < to }
        let spend = try await ledger.spend(scope: BudgetScope(kind: .team, value: "a"), from: from, to: to)
        #expect(spend.cost == inWindow.reduce(0) { $0 + ($1.cost?.value ?? 0) })
        #expect(spend.tokens == inWindow.reduce(0) { $0 + $1.usage.totalInput + $1.usage.output })
        let hourly = try await ledger.hourlySpend(scope: BudgetScope(kind: .team, value: "a"), from: from, to: to)
        #expect(hourly.values.reduce(0) { $0 + $1.cost } == spend.cost)
        for (hour, value) in hourly {
            let ofHour = inWindow.filter { SQLiteLedger.millis($0.startedAt) / 3_600_000 == hour }
            #expect(value.cost == ofHour.reduce(0) { $0 + ($1.cost?.value ?? 0) })
        }
    }

    @Test func hourlySpendPerTeamReadsTheSameAsTheRequests() async throws {
        let ledger = try SQLiteLedger(inMemory: ())
        let records = LedgerSamples.records(count: 900, seed: 12)
        try await ledger.insert(records)
        var random = LedgerSamples.Seeded(state: 12)
        for _ in 0..<10 {
            let low = LedgerSamples.start - 3_600_000 + Int64(random.next(60 * 3_600_000))
            let high = low + Int64(random.next(30 * 3_600_000))
            let (from, to) = (Date(timeIntervalSince1970: Double(low) / 1000), Date(timeIntervalSince1970: Double(high) / 1000))
            var expected: [String: [Int64: Int64]] = [:]
            for record in records where record.startedAt >= from && record.startedAt < to && record.status != .rejected {
                expected[record.attribution.team ?? "(none)", default: [:]][SQLiteLedger.millis(record.startedAt) / 3_600_000, default: 0] +=
                    record.cost?.value ?? 0
            }
            #expect(try await ledger.hourlySpendByTeam(from: from, to: to) == expected)
        }
    }

    @Test func importsThatFindMoreUsageMoveTheSums() async throws {
        let ledger = try SQLiteLedger(inMemory: ())
        var records = LedgerSamples.records(count: 300, seed: 4).map { record -> RequestRecord in
            var record = record
            record.status = .completed
            return record
        }
        _ = try await ledger.importRecords(records)
        for index in stride(from: 0, to: records.count, by: 3) {
            records[index].usage.output += 1_000
            records[index].cost = NanoUSD((records[index].cost?.value ?? 0) + 5_000)
        }
        let result = try await ledger.importRecords(records)
        #expect(result.added.isEmpty && result.updated == Array(stride(from: 0, to: records.count, by: 3)))
        try await Self.check(ledger, records, seed: 4, queries: 20)
        let totals = try await ledger.runTotals(from: Date(timeIntervalSince1970: 0), to: Date(timeIntervalSince1970: 4_000_000_000), team: nil)
        for total in totals {
            let calls = records.filter { ($0.attribution.parentRun ?? $0.attribution.run) == total.run }
            #expect(total.calls == Int64(calls.count))
            #expect(total.cost == calls.reduce(0) { $0 + ($1.cost?.value ?? 0) })
            #expect(total.tokens == calls.reduce(0) { $0 + $1.usage.totalInput + $1.usage.output })
        }
        #expect(totals.count == Set(records.compactMap { $0.attribution.parentRun ?? $0.attribution.run }).count)
    }

    @Test func theMigrationBuildsRollupsFromAnExistingLedger() async throws {
        let path = NSTemporaryDirectory() + "strates-rollup-\(UUID().uuidString).db"
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let records = LedgerSamples.records(count: 600, seed: 5)
        do {
            let queue = try DatabaseQueue(path: path)
            try SQLiteMigrations.migrator.migrate(queue, upTo: "015_outcomes")
            try await queue.write { db in try Self.writeRows(records, db) }
        }
        let ledger = try SQLiteLedger(path: path)
        try await Self.check(ledger, records, seed: 5, queries: 20)
        let totals = try await ledger.runTotals(from: Date(timeIntervalSince1970: 0), to: Date(timeIntervalSince1970: 4_000_000_000), team: nil)
        #expect(totals.reduce(0) { $0 + $1.calls } == Int64(records.filter { $0.attribution.run != nil && $0.status != .rejected }.count))
    }

    @Test func workloadProfilesFollowNewCallsAndNewRules() async throws {
        let ledger = try SQLiteLedger(inMemory: ())
        func call(_ index: Int, turn: String) -> RequestRecord {
            var record = RequestRecord(
                id: "w\(index)", startedAt: Date(timeIntervalSince1970: 1_790_000_000 + Double(index) * 5), api: "messages", stream: true, status: .completed,
                attribution: Attribution(organization: "default", team: "a", run: "session-1"), requestedModel: "claude-sonnet-4-5",
                usage: Usage(input: 1_000 + Int64(index) * 100, output: 50), cost: NanoUSD(10), inputEstimate: 1
            )
            record.turn = turn
            return record
        }
        let window = (Date(timeIntervalSince1970: 1_789_999_000), Date(timeIntervalSince1970: 1_790_100_000))
        try await ledger.insert([call(0, turn: "human"), call(1, turn: "human")])
        var profiles = try await ledger.workloadProfiles(from: window.0, to: window.1, team: nil, rules: WorkloadRules()).runs
        #expect(profiles.map(\.workload) == [.prompt])
        try await ledger.insert((2..<8).map { call($0, turn: "tool") })
        profiles = try await ledger.workloadProfiles(from: window.0, to: window.1, team: "a", rules: WorkloadRules()).runs
        #expect(profiles.map(\.workload) == [.autonomous])
        #expect(profiles.first?.calls == 8)
        #expect(profiles.first?.loopLength == 6)
        #expect(profiles.first?.contextGrowth == 100)
        var strict = WorkloadRules()
        strict.autonomousToolShare = 0.9
        profiles = try await ledger.workloadProfiles(from: window.0, to: window.1, team: nil, rules: strict).runs
        #expect(profiles.map(\.workload) == [.chain])
        #expect(try await ledger.workloadProfiles(from: window.0, to: window.1, team: "b", rules: strict).runs.isEmpty)
    }
}
