import Foundation
import StratesTestSupport
import Testing

@testable import StratesCore
@testable import StratesLedger
@testable import StratesLedgerSQLite

/// A ledger backend the contract runs against. Each test gets a fresh, empty one; the
/// folder it may use goes away with the test.
struct LedgerBackend: Sendable, CustomStringConvertible {
    let description: String
    let make: @Sendable (TemporaryFolder) throws -> any LedgerDatabase

    static let all: [LedgerBackend] = [
        LedgerBackend(description: "SQLite in memory") { _ in try SQLiteLedger(inMemory: ()) },
        LedgerBackend(description: "SQLite file") { folder in
            try FileManager.default.createDirectory(atPath: folder.path, withIntermediateDirectories: true)
            return try SQLiteLedger(path: folder.path + "/ledger.db")
        },
    ]
}

/// What every ledger backend must do, written against the store protocols alone, so that a
/// second backend (PostgreSQL) is held to the same behaviour by adding it to
/// `LedgerBackend.all`.
@Suite struct LedgerContractTests {
    let folder = TemporaryFolder(prefix: "strates-contract-")
    static let start = Date(timeIntervalSince1970: 1_790_000_000)

    func record(
        _ id: String, team: String = "platform", run: String? = nil, at offset: TimeInterval = 0, usage: Usage = Usage(input: 10, output: 5), cost: Int64? = 100
    ) -> RequestRecord {
        RequestRecord(
            id: id, startedAt: Self.start.addingTimeInterval(offset), api: "chat_completions", stream: false, status: .completed,
            attribution: Attribution(organization: "default", team: team, member: "alice", keyID: "key_1", run: run),
            requestedModel: "gpt-4o", servedModel: "gpt-4o", provider: "openai", usage: usage, cost: cost.map(NanoUSD.init), inputEstimate: 3
        )
    }

    @Test(arguments: LedgerBackend.all)
    func requestsAreStoredOnceAndSummed(_ backend: LedgerBackend) async throws {
        let ledger = try backend.make(folder)
        try await ledger.insert([record("a"), record("b", team: "data", cost: nil)])
        try await ledger.insert([record("a"), record("c", at: 7_200)])
        #expect(try await ledger.requestCount() == 3)
        #expect(try await ledger.requestIDs() == ["a", "b", "c"])
        #expect(try await ledger.request(id: "a") == record("a"))
        #expect(try await ledger.request(id: "missing") == nil)
        let rows = try await ledger.usage(UsageQuery(groupBy: [.team]))
        let platform = try #require(rows.first { $0.group["team"] == "platform" })
        #expect(platform.requests == 2 && platform.usage == Usage(input: 20, output: 10) && platform.cost == NanoUSD(200))
        #expect(rows.first { $0.group["team"] == "data" }?.unknownCostRequests == 1)
        #expect(try await ledger.usage(UsageQuery(since: Self.start.addingTimeInterval(3_600))).first?.requests == 1)
    }

    @Test(arguments: LedgerBackend.all)
    func keysAreFoundByHashAndRevokedByIdOrName(_ backend: LedgerBackend) async throws {
        let ledger = try backend.make(folder)
        func key(_ id: String, _ hash: String, _ name: String) -> APIKey {
            APIKey(
                id: id, hash: hash, prefix: "sk-strates-Ab", name: name, role: .gateway, organization: "default", team: "t", member: "m", service: nil,
                environment: .personal, workflow: nil, createdAt: Self.start, expiresAt: nil)
        }
        try await ledger.insert(key("key_1", "h1", "laptop"))
        try await ledger.insert(key("key_2", "h2", "ci"))
        #expect(try await ledger.key(hash: "h1")?.id == "key_1")
        #expect(try await ledger.key(hash: "nope") == nil)
        #expect(try await ledger.revoke("laptop", at: Self.start) == 1)
        #expect(try await ledger.revoke("key_2", at: Self.start) == 1)
        #expect(try await ledger.keys(includeRevoked: false).isEmpty)
        #expect(try await ledger.keys(includeRevoked: true).count == 2)
        #expect(try await ledger.keyCount() == 2)
    }

    @Test(arguments: LedgerBackend.all)
    func budgetsKeepNamesUniqueAndSpendFollowsTheirScope(_ backend: LedgerBackend) async throws {
        let ledger = try backend.make(folder)
        let budget = Budget(
            id: "bud_00000001", name: "platform-daily", scope: BudgetScope(kind: .team, value: "platform"), period: .day, unit: .usd, limit: 1_000)
        try await ledger.save(budget)
        var twin = budget
        twin.id = "bud_00000002"
        await #expect(throws: NameTaken.self) { try await ledger.save(twin) }
        try await ledger.insert([record("a"), record("b", team: "data"), record("c", at: 90_000)])
        let day = try await ledger.spend(scope: budget.scope, from: Self.start, to: Self.start.addingTimeInterval(86_400))
        #expect(day == ScopeSpend(cost: 100, tokens: 15))
        #expect(try await ledger.spend(scope: budget.scope, from: Self.start, to: nil) == ScopeSpend(cost: 200, tokens: 30))
        #expect(try await ledger.claimAlert(budgetID: budget.id, windowStart: Self.start, threshold: 80, at: Self.start))
        #expect(try await !ledger.claimAlert(budgetID: budget.id, windowStart: Self.start, threshold: 80, at: Self.start), "an alert is claimed once")
        #expect(try await ledger.deleteBudget("platform-daily"))
        #expect(try await ledger.budgets().isEmpty)
    }

    @Test(arguments: LedgerBackend.all)
    func rulesAreSavedListedAndDeletedByIdOrName(_ backend: LedgerBackend) async throws {
        let ledger = try backend.make(folder)
        let limit = RateLimit(id: "rl_00000001", name: "team-tpm", scope: BudgetScope(kind: .team, value: "t"), tokensPerMinute: 1_000)
        try await ledger.save(rule: limit)
        var changed = limit
        changed.tokensPerMinute = 2_000
        try await ledger.save(rule: changed)
        #expect(try await ledger.rules(RateLimit.self).map(\.tokensPerMinute) == [2_000])
        var clash = limit
        clash.id = "rl_00000002"
        await #expect(throws: NameTaken.self) { try await ledger.save(rule: clash) }
        #expect(try await ledger.deleteRule(RateLimit.self, "rl_00000001"))
        #expect(try await !ledger.deleteRule(RateLimit.self, "team-tpm"))
    }

    @Test(arguments: LedgerBackend.all)
    func outcomesAreRecordedOncePerRunKindAndRef(_ backend: LedgerBackend) async throws {
        let ledger = try backend.make(folder)
        try await ledger.insert([record("a", run: "run-1"), record("b", team: "data", run: "run-1")])
        #expect(Set(try await ledger.teams(ofRun: "run-1")) == ["platform", "data"])
        #expect(try await ledger.teams(ofRun: "run-none").isEmpty)
        let merge = Outcome(id: "out_1", at: Self.start, run: "run-1", kind: .merge, ref: "acme/api#1", quantity: 12)
        #expect(try await ledger.record(merge))
        var again = merge
        again.id = "out_2"
        #expect(try await !ledger.record(again), "the same run, kind and ref is one outcome")
        #expect(try await ledger.outcomes(run: "run-1").map(\.id) == ["out_1"])
    }

    @Test(arguments: LedgerBackend.all)
    func importsAddNewRecordsAndUpdateKnownOnes(_ backend: LedgerBackend) async throws {
        let ledger = try backend.make(folder)
        let first = try await ledger.importRecords([record("i1"), record("i2")])
        #expect(first.added.count == 2 && first.updated.isEmpty)
        // More usage updates a known record (a session read again after it went on); less leaves it.
        let second = try await ledger.importRecords([
            record("i2", usage: Usage(input: 10, output: 9)), record("i3"), record("i1", usage: Usage(input: 1, output: 1)),
        ])
        #expect(second == ImportResult(added: [1], updated: [0]))
        #expect(try await ledger.requestCount() == 3)
        #expect(try await ledger.request(id: "i2")?.usage.output == 9)
        #expect(try await ledger.request(id: "i1")?.usage == Usage(input: 10, output: 5))
    }
}
