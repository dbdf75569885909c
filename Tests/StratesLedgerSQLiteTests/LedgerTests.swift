import Foundation
import GRDB
import Logging
import StratesTestSupport
import Testing

@testable import StratesCore
@testable import StratesLedger
@testable import StratesLedgerSQLite

@Suite struct LedgerTests {
    func record(
        _ id: String, team: String = "platform", model: String = "gpt-4o", usage: Usage = Usage(input: 10, output: 5), cost: Int64? = 100,
        status: RequestStatus = .completed
    ) -> RequestRecord {
        RequestRecord(
            id: id, startedAt: Date(timeIntervalSince1970: 1_790_000_000), api: "chat_completions", stream: false, status: status,
            attribution: Attribution(organization: "default", team: team, member: "alice", keyID: "key_1"), requestedModel: model,
            servedModel: model, provider: "openai", usage: usage, cost: cost.map(NanoUSD.init), inputEstimate: 3
        )
    }

    @Test func insertIsIdempotentByRequestID() async throws {
        let ledger = try SQLiteLedger(inMemory: ())
        try await ledger.insert([record("a"), record("b")])
        try await ledger.insert([record("a"), record("b"), record("c")])
        #expect(try await ledger.requestCount() == 3)
        let stored = try #require(try await ledger.request(id: "a"))
        #expect(stored == record("a"))
    }

    @Test func groupsUsageAndCountsUnknownCosts() async throws {
        let ledger = try SQLiteLedger(inMemory: ())
        try await ledger.insert([
            record("1", team: "a", usage: Usage(input: 1, output: 2, cacheRead: 3)), record("2", team: "a", cost: nil),
            record("3", team: "b", cost: 7),
        ])
        let rows = try await ledger.usage(UsageQuery(groupBy: [.team]))
        let a = try #require(rows.first { $0.group["team"] == "a" })
        #expect(a.requests == 2)
        #expect(a.usage == Usage(input: 11, output: 7, cacheRead: 3))
        #expect(a.cost == NanoUSD(100))
        #expect(a.unknownCostRequests == 1)
        let filtered = try await ledger.usage(UsageQuery(filters: [.team: "b"]))
        #expect(filtered.first?.requests == 1)
        #expect(try await ledger.usage(UsageQuery(since: Date())).isEmpty)
    }

    /// A new ledger is made with 16 KB pages; one made before with SQLite's 4 KB keeps them,
    /// and opens, migrates and takes records as before.
    @Test func aNewLedgerHas16KBPagesAndAnOlderOneKeepsItsOwn() async throws {
        let (fresh, older) = (NSTemporaryDirectory() + "strates-page-\(UUID().uuidString).db", NSTemporaryDirectory() + "strates-page-\(UUID().uuidString).db")
        defer { for path in [fresh, older] { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } } }
        func pageSize(_ path: String) throws -> Int? { try DatabaseQueue(path: path).read { try Int.fetchOne($0, sql: "PRAGMA page_size") } }
        _ = try SQLiteLedger(path: fresh)
        #expect(try pageSize(fresh) == 16384)
        try await DatabaseQueue(path: older).write { try $0.execute(sql: "PRAGMA page_size = 4096; CREATE TABLE earlier (x)") }
        let ledger = try SQLiteLedger(path: older)
        try await ledger.insert([record("r1"), record("r2")])
        #expect(try await ledger.requestCount() == 2)
        #expect(try pageSize(older) == 4096)
    }

    @Test func keysStoreOnlyHashesAndRevoke() async throws {
        let ledger = try SQLiteLedger(inMemory: ())
        let key = APIKey(
            id: "key_x", hash: "abc", prefix: "sk-strates-Ab", name: "ci", role: .gateway, organization: "default", team: "t", member: "m", service: nil,
            environment: .personal, workflow: nil, createdAt: Date(timeIntervalSince1970: 1), expiresAt: nil)
        try await ledger.insert(key)
        #expect(try await ledger.key(hash: "abc")?.id == "key_x")
        #expect(try await ledger.revoke("ci", at: Date()) == 1)
        #expect(try await ledger.key(hash: "abc")?.isActive(at: Date()) == false)
        #expect(try await ledger.keys(includeRevoked: false).isEmpty)
    }
}

@Suite struct JournalRecoveryTests {
    func temporaryDirectory() -> String {
        let path = NSTemporaryDirectory() + "strates-journal-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    func record(_ id: String) -> RequestRecord {
        RequestRecord(
            id: id, startedAt: Date(timeIntervalSince1970: 1_790_000_000), api: "messages", stream: true, status: .completed,
            attribution: Attribution(team: "t"), requestedModel: "claude-haiku-4-5", provider: "anthropic",
            usage: Usage(input: 4, output: 9), inputEstimate: 250)
    }

    @Test func crashLeavesNothingUnrecorded() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let lock = try JournalLock(directory: directory)
        let ledger = try SQLiteLedger(inMemory: ())
        let logger = Logger(label: "test")
        do {
            // A writer that "crashes": never flushed.
            let writer = try LedgerWriter(store: ledger, lock: lock, logger: logger)
            try writer.begin(record("done"))
            try writer.finish(record("done"))
            try writer.begin(record("in-flight"))
        }
        let result = try await LedgerWriter.recover(store: ledger, lock: lock, logger: logger) { _ in NanoUSD(42) }
        #expect(result.ended == 1)
        #expect(result.interrupted == 1)
        #expect(try await ledger.request(id: "done")?.usage == Usage(input: 4, output: 9))
        let interrupted = try #require(try await ledger.request(id: "in-flight"))
        #expect(interrupted.status == .interrupted)
        #expect(interrupted.usageEstimated)
        #expect(interrupted.usage.input == 250)
        #expect(interrupted.cost == NanoUSD(42))
        // Replaying again adds nothing.
        _ = try await LedgerWriter.recover(store: ledger, lock: lock, logger: logger) { _ in nil }
        #expect(try await ledger.requestCount() == 2)
    }

    @Test func flushMovesRecordsAndDropsOldSegmentsButKeepsInFlight() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let lock = try JournalLock(directory: directory)
        let ledger = try SQLiteLedger(inMemory: ())
        let writer = try LedgerWriter(store: ledger, lock: lock, logger: Logger(label: "test"))
        for index in 0..<10 {
            try writer.begin(record("r\(index)"))
            try writer.finish(record("r\(index)"))
        }
        try writer.begin(record("open"))
        await writer.flush()
        #expect(try await ledger.requestCount() == 10)
        // Only the segment carrying the in-flight request remains, and it names only that request.
        let segments = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasPrefix("segment-") }
        #expect(segments.count == 1)
        let text = try String(contentsOfFile: directory + "/" + segments[0], encoding: .utf8)
        #expect(text.contains("\"open\""))
        #expect(!text.contains("\"r3\""))
        // A crash now: recovery records the open request as interrupted, the others once.
        _ = try await LedgerWriter.recover(store: ledger, lock: lock, logger: Logger(label: "test")) { _ in nil }
        #expect(try await ledger.requestCount() == 11)
        #expect(try await ledger.request(id: "open")?.status == .interrupted)
    }

    @Test func overlappingFlushesLoseNothing() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let lock = try JournalLock(directory: directory)
        let ledger = try SQLiteLedger(inMemory: ())
        let writer = try LedgerWriter(store: ledger, lock: lock, logger: Logger(label: "test"))
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<8 {
                group.addTask {
                    for index in 0..<50 {
                        let id = "w\(worker)-\(index)"
                        try? writer.begin(self.record(id))
                        try? writer.finish(self.record(id))
                        if index % 10 == 0 { await writer.flush() }
                    }
                }
            }
        }
        // Whatever is not yet in the store must still be in the journal: a crash now loses nothing.
        _ = try await LedgerWriter.recover(store: ledger, lock: lock, logger: Logger(label: "test")) { _ in nil }
        #expect(try await ledger.requestCount() == 400)
        #expect(try await ledger.usage(UsageQuery(filters: [.status: "interrupted"])).isEmpty)
    }

    @Test func tornLastLineIsSkipped() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let lock = try JournalLock(directory: directory)
        let ledger = try SQLiteLedger(inMemory: ())
        do {
            let writer = try LedgerWriter(store: ledger, lock: lock, logger: Logger(label: "test"))
            try writer.begin(record("a"))
            try writer.finish(record("a"))
        }
        let segment = try #require(try FileManager.default.contentsOfDirectory(atPath: directory).first { $0.hasPrefix("segment-") })
        let handle = try #require(FileHandle(forWritingAtPath: directory + "/" + segment))
        handle.seekToEndOfFile()
        handle.write(Data(#"{"kind":"begin","record":{"id":"torn","#.utf8))
        try handle.close()
        let result = try await LedgerWriter.recover(store: ledger, lock: lock, logger: Logger(label: "test")) { _ in nil }
        #expect(result.ended == 1)
        #expect(try await ledger.requestCount() == 1)
    }
}

@Suite struct JournalLineEncoderTests {
    func randomText(_ random: inout SeededRandom) -> String {
        let pieces = ["a", "Z", "é", "😀", "\"", "\\", "\n", "\t", "\u{01}", "\u{1F}", " ", "/", "<", "\u{7F}"]
        return (0..<Int.random(in: 0...12, using: &random)).map { _ in pieces[Int.random(in: 0..<pieces.count, using: &random)] }.joined()
    }

    func maybe<T>(_ value: T, _ random: inout SeededRandom) -> T? { Bool.random(using: &random) ? value : nil }

    /// A record with every field drawn at random, text from awkward pieces.
    func randomRecord(_ random: inout SeededRandom) -> RequestRecord {
        let started = Date(timeIntervalSince1970: Double(Int64.random(in: 1_600_000_000_000...1_900_000_000_000, using: &random)) / 1000)
        return RequestRecord(
            id: randomText(&random), startedAt: started, endedAt: maybe(started.addingTimeInterval(1.5), &random),
            api: randomText(&random), stream: Bool.random(using: &random),
            status: RequestStatus.allCases.randomElement(using: &random)!, httpStatus: maybe(Int.random(in: 100...599, using: &random), &random),
            attribution: Attribution(
                organization: maybe(randomText(&random), &random), team: maybe(randomText(&random), &random),
                member: maybe(randomText(&random), &random), keyID: maybe(randomText(&random), &random),
                service: maybe(randomText(&random), &random), environment: Environment.allCases.randomElement(using: &random)!,
                workflow: maybe(randomText(&random), &random), run: maybe(randomText(&random), &random),
                parentRun: maybe(randomText(&random), &random), process: maybe(randomText(&random), &random),
                endUser: maybe(randomText(&random), &random), traceID: maybe(randomText(&random), &random)
            ),
            requestedModel: randomText(&random), servedModel: maybe(randomText(&random), &random),
            provider: maybe(randomText(&random), &random), upstreamRequestID: maybe(randomText(&random), &random),
            latencyMs: maybe(Int64.random(in: 0...1_000_000, using: &random), &random),
            timeToFirstTokenMs: maybe(Int64.random(in: 0...1_000_000, using: &random), &random),
            usage: Usage(
                input: .random(in: 0...Int64.max / 8, using: &random), output: .random(in: 0...9_999_999, using: &random),
                cacheRead: .random(in: 0...9_999_999, using: &random), cacheWrite5m: .random(in: 0...9_999, using: &random),
                cacheWrite1h: .random(in: 0...9_999, using: &random), reasoning: .random(in: 0...9_999, using: &random)),
            usageEstimated: Bool.random(using: &random), cost: maybe(NanoUSD(.random(in: -5...Int64.max / 2, using: &random)), &random),
            error: maybe(randomText(&random), &random), inputEstimate: .random(in: 0...1_000_000, using: &random),
            serviceTier: maybe([ServiceTier.priority, .batch].randomElement(using: &random)!, &random),
            outputCap: maybe(.random(in: 1...64_000, using: &random), &random), downgradedBy: maybe(randomText(&random), &random),
            grantID: maybe(randomText(&random), &random), route: maybe(randomText(&random), &random),
            failedAttempts: maybe(randomText(&random), &random), routingRule: maybe(randomText(&random), &random),
            taskClass: maybe(randomText(&random), &random), autoTier: maybe(randomText(&random), &random),
            routingReason: maybe(randomText(&random), &random), baselineModel: maybe(randomText(&random), &random),
            source: maybe(randomText(&random), &random), turn: maybe(randomText(&random), &random)
        )
    }

    /// Property: every line the fast encoder writes decodes, with the synthesized Codable
    /// recovery uses, to the same record (dates at the millisecond the ledger keeps).
    @Test func decodesToTheSameRecord() throws {
        var random = SeededRandom(109)
        let decoder = JournalCoding.decoder()
        for _ in 0..<500 {
            let record = randomRecord(&random)
            for kind in [JournalEntry.Kind.begin, .end] {
                let line = JournalLineEncoder.line(kind, record)
                #expect(line.last == UInt8(ascii: "\n"))
                #expect(!line.dropLast().contains(UInt8(ascii: "\n")), "one entry, one line")
                let entry = try decoder.decode(JournalEntry.self, from: Data(line.dropLast()))
                #expect(entry.kind == kind)
                #expect(entry.record == record)
            }
        }
    }
}

/// `RequestRecord.visitColumns` is the one list of a record's stored fields: these tests fail
/// when a field is added to the record, or a column to the table, without it.
@Suite struct RecordColumnTests {
    @Test func everyStoredFieldIsAColumn() {
        let record = RequestRecord.blank
        let nested = ["attribution": Mirror(reflecting: record.attribution), "usage": Mirror(reflecting: record.usage)]
        var fields: [String] = []
        for child in Mirror(reflecting: record).children {
            guard let label = child.label else { continue }
            if let mirror = nested[label] {
                fields += mirror.children.compactMap(\.label)
            } else {
                fields.append(label)
            }
        }
        #expect(RequestRecord.columns.map(\.key.description).sorted() == fields.sorted())
        #expect(Set(RequestRecord.columns.map(\.name.description)).count == RequestRecord.columns.count, "one column per field")
    }

    @Test func theColumnsAreTheTables() async throws {
        let ledger = try SQLiteLedger()
        let table = try await ledger.writer.read { db in try Row.fetchAll(db, sql: "PRAGMA table_info(requests)").map { $0["name"] as String } }
        #expect(RequestRecord.columns.map(\.name.description).sorted() == table.sorted())
    }

    /// Property: a record written to the table reads back the same, every field drawn at random.
    @Test func aRecordReadsBackAsWritten() async throws {
        let seed: UInt64 = 227
        print("RecordColumnTests seed \(seed)")
        var random = SeededRandom(seed)
        let records = (0..<300).map { index in
            var record = JournalLineEncoderTests().randomRecord(&random)
            record.id = "r\(index)-" + record.id
            return record
        }
        let ledger = try SQLiteLedger()
        try await ledger.insert(records)
        var matched = 0
        for record in records {
            let stored = try await ledger.request(id: record.id)
            #expect(stored == record)
            if stored == record { matched += 1 }
        }
        #expect(matched == records.count)
    }
}

@Suite struct JournalLockTests {
    @Test func secondHolderIsRefusedUntilTheFirstLetsGo() throws {
        let directory = NSTemporaryDirectory() + "strates-lock-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var first: JournalLock? = try JournalLock(directory: directory)
        #expect(first != nil)
        #expect(throws: LedgerError.self) { try JournalLock(directory: directory) }
        first = nil
        #expect(try JournalLock(directory: directory).directory == directory)
    }
}
