import Foundation
import GRDB
import StratesCore
import StratesGateway
import StratesTestSupport
import Testing

@testable import StratesAnalytics
@testable import StratesLedger
@testable import StratesLedgerSQLite

/// A first import into an empty ledger writes in bulk (one transaction, the indexes built at
/// the end): the same ledger as the row-by-row path, nothing at all after a failure, and the
/// id index a plain unique index that a migration made out of the old primary key.
@Suite struct BulkImportTests {
    static func temporaryPath() -> String { NSTemporaryDirectory() + "strates-bulk-\(UUID().uuidString).db" }

    static func remove(_ path: String) {
        for suffix in ["", "-wal", "-shm", "-import"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    }

    /// The definitions of the requests table and its indexes, as SQLite keeps them (an index
    /// that came with a renamed table names it quoted: the same table).
    static func schema(_ path: String) throws -> [String] {
        try DatabaseQueue(path: path).read { db in
            try String.fetchAll(
                db, sql: "SELECT type || ' ' || name || ': ' || COALESCE(sql, '') FROM sqlite_master WHERE tbl_name = 'requests' ORDER BY type, name")
        }.map { $0.replacingOccurrences(of: #" ON "requests" ("#, with: " ON requests (") }
    }

    /// Session logs over several write batches: 70 sessions of 3 responses, the second
    /// response of each streamed first with a partial count; session 65 copies response 4
    /// of session 2 with its final count, after that response's batch was written.
    static func history() throws -> String {
        let directory = NSTemporaryDirectory() + "strates-bulk-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        func line(_ message: String, session: Int, second: Int, output: Int) -> String {
            #"{"type":"assistant","sessionId":"s\#(session)","requestId":"req_\#(message)","timestamp":"2026-11-22T08:\#(10 + session % 40):\#(10 + second).000Z","cwd":"/src/app\#(session % 3)","gitBranch":"b\#(session % 2)","message":{"id":"msg_\#(message)","model":"claude-haiku-4-5","usage":{"input_tokens":\#(10 + second),"output_tokens":\#(output),"cache_read_input_tokens":\#(session * 7)}}}"#
        }
        for session in 0..<70 {
            var text = ""
            for response in 0..<3 {
                let message = "\(session)-\(response)"
                if response == 1 { text += line(message, session: session, second: response, output: 8) + "\n" }
                text += line(message, session: session, second: response, output: session == 2 && response == 1 ? 50 : 100 + response) + "\n"
            }
            if session == 65 { text += line("2-1", session: 2, second: 1, output: 101) + "\n" }
            try text.write(toFile: directory + String(format: "/s%03d.jsonl", session), atomically: true, encoding: .utf8)
        }
        return directory
    }

    func importer(bulk: Bool) -> TranscriptImport {
        var importer = TranscriptImport(
            format: .claudeCode, attribution: Attribution(organization: "default", team: "platform", member: "ana"), pricing: Pricing(PriceCatalog.builtIn()))
        importer.filesPerBatch = 8
        importer.responsesPerWrite = 30
        importer.bulkWhenEmpty = bulk
        return importer
    }

    @Test func aFirstImportInBulkLeavesTheLedgerTheRowByRowPathLeaves() async throws {
        let directory = try Self.history()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let files = try TranscriptImport.transcripts(at: [directory])
        let (bulkPath, rowPath, freshPath) = (Self.temporaryPath(), Self.temporaryPath(), Self.temporaryPath())
        defer { for path in [bulkPath, rowPath, freshPath] { Self.remove(path) } }
        let (bulkLedger, rowLedger) = (try SQLiteLedger(path: bulkPath), try SQLiteLedger(path: rowPath))
        _ = try SQLiteLedger(path: freshPath)

        var bulk = try await importer(bulk: true).run(files: files, store: bulkLedger)
        let rows = try await importer(bulk: false).run(files: files, store: rowLedger)
        #expect(bulk.bulk && !rows.bulk)
        #expect((bulk.responses, bulk.added, bulk.updated, bulk.duplicates) == (210, 210, 0, 71))
        bulk.bulk = false
        #expect(bulk == rows)
        // Response 2-1 was written with 50 output tokens, then updated to 101 after the bulk.
        #expect(bulk.usage.output == 70 * (100 + 101 + 102))

        func everything(_ ledger: SQLiteLedger) async throws -> [RequestRecord] {
            try await ledger.requests(organization: "default", environment: .production, from: .distantPast, to: .distantFuture).sorted { $0.id < $1.id }
        }
        #expect(try await everything(bulkLedger) == everything(rowLedger))
        for by: [UsageDimension] in [[.team], [.run], [.member, .model], [.day]] {
            let query = UsageQuery(groupBy: by)
            #expect(try await bulkLedger.usage(query) == rowLedger.usage(query))
        }
        #expect(try await bulkLedger.runContext("s7")?.cwd == "/src/app1")
        // Every index is back, as a fresh ledger has it, and the staging table is gone.
        #expect(try Self.schema(bulkPath) == Self.schema(freshPath))
        #expect(try Self.tables(bulkPath) == Self.tables(freshPath))

        // The ledger is no longer empty: the next import goes row by row, and adds nothing.
        var again = importer(bulk: true)
        again.skipUnchangedFiles = false
        let second = try await again.run(files: files, store: bulkLedger)
        #expect((second.bulk, second.added, second.updated, second.unchanged) == (false, 0, 0, 210))
    }

    @Test func aFailedBulkImportLeavesTheLedgerAsItWas() async throws {
        let directory = try Self.history()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let files = try TranscriptImport.transcripts(at: [directory])
        let (path, freshPath) = (Self.temporaryPath(), Self.temporaryPath())
        defer { for path in [path, freshPath] { Self.remove(path) } }
        let ledger = try SQLiteLedger(path: path)
        _ = try SQLiteLedger(path: freshPath)
        // The missing file comes after several batches were written in bulk.
        await #expect(throws: ImportError.self) {
            try await importer(bulk: true).run(files: files + ["/nonexistent/strates/x.jsonl"], store: ledger)
        }
        #expect(try await ledger.requestCount() == 0)
        #expect(try await ledger.usage(UsageQuery()).isEmpty)
        #expect(try Self.schema(path) == Self.schema(freshPath))
        #expect(try Self.tables(path) == Self.tables(freshPath))
        let next = try await importer(bulk: true).run(files: files, store: ledger)
        #expect((next.bulk, next.added) == (true, 210))
    }

    /// The gateway's records written while a bulk import holds the writer wait for it, and
    /// land.
    @Test func writesDuringABulkImportWaitAndLand() async throws {
        let path = Self.temporaryPath()
        defer { Self.remove(path) }
        let ledger = try SQLiteLedger(path: path)
        let records = LedgerSamples.records(count: 50, seed: 3)
        let bulk = try #require(try await ledger.beginBulkImport())
        try await bulk.write(Array(records.prefix(40)))
        let gateway = Task { try await ledger.insert(Array(records.suffix(10))) }
        try await Task.sleep(for: .milliseconds(50))
        #expect(try await ledger.requestCount() == 0)
        try await bulk.finish()
        try await gateway.value
        #expect(try await ledger.requestCount() == 50)
        #expect(try await ledger.beginBulkImport() == nil)
        // The gateway's rows came first, so the bulk rows were copied in, not swapped in.
        let freshPath = Self.temporaryPath()
        defer { Self.remove(freshPath) }
        _ = try SQLiteLedger(path: freshPath)
        #expect(try Self.schema(path) == Self.schema(freshPath))
        #expect(try Self.tables(path) == Self.tables(freshPath))
    }

    /// Two records of one id (which an import never sends) fail the unique index as it is
    /// built: the whole bulk import is rolled back.
    @Test func aDuplicateIdFailsTheWholeBulkImport() async throws {
        let (path, freshPath) = (Self.temporaryPath(), Self.temporaryPath())
        defer { for path in [path, freshPath] { Self.remove(path) } }
        let ledger = try SQLiteLedger(path: path)
        _ = try SQLiteLedger(path: freshPath)
        let records = LedgerSamples.records(count: 30, seed: 8)
        let bulk = try #require(try await ledger.beginBulkImport())
        try await bulk.write(records)
        try await bulk.write([records[7]])
        await #expect(throws: DatabaseError.self) { try await bulk.finish() }
        #expect(try await ledger.requestCount() == 0)
        #expect(try await ledger.usage(UsageQuery()).isEmpty)
        #expect(try Self.schema(path) == Self.schema(freshPath))
        #expect(try Self.tables(path) == Self.tables(freshPath))
        try await ledger.insert(records)
        #expect(try await ledger.requestCount() == 30)
    }

    static func tables(_ path: String) throws -> [String] {
        try DatabaseQueue(path: path).read { db in try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name") }
    }

    /// A crash between the bulk import's two transactions leaves its staging table: the
    /// ledger reads as empty, and the next bulk import replaces it.
    @Test func aStagingTableLeftByACrashIsReplaced() async throws {
        let directory = try Self.history()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (path, freshPath) = (Self.temporaryPath(), Self.temporaryPath())
        defer { for path in [path, freshPath] { Self.remove(path) } }
        let ledger = try SQLiteLedger(path: path)
        _ = try SQLiteLedger(path: freshPath)
        try await DatabaseQueue(path: path).write { db in
            try db.execute(sql: "CREATE TABLE requests_bulk AS SELECT * FROM requests")
            try RollupTests.writeRows(LedgerSamples.records(count: 20, seed: 4), sql: SQLiteLedger.bulkInsertSQL, db)
        }
        #expect(try await ledger.requestCount() == 0)
        let summary = try await importer(bulk: true).run(files: try TranscriptImport.transcripts(at: [directory]), store: ledger)
        #expect((summary.bulk, summary.added) == (true, 210))
        #expect(try await ledger.requestCount() == 210)
        #expect(try Self.tables(path) == Self.tables(freshPath))
        #expect(try Self.schema(path) == Self.schema(freshPath))
    }

    /// A process that dies between the bulk import's two transactions leaves its staging
    /// table, holding the rows and the index it took from requests. The next open of the
    /// ledger, with no import alive, drops it and puts the index back; while an import holds
    /// the lock, it is left alone.
    @Test func theNextOpenCleansUpAfterAnImportThatDiedBetweenItsTransactions() async throws {
        let (path, freshPath) = (Self.temporaryPath(), Self.temporaryPath())
        defer { for path in [path, freshPath] { Self.remove(path) } }
        _ = try SQLiteLedger(path: freshPath)
        _ = try SQLiteLedger(path: path)
        // The first transaction, as the bulk import runs it, then nothing.
        try await DatabaseQueue(path: path).write { db in
            try SQLiteLedger.createStaging(db)
            try RollupTests.writeRows(LedgerSamples.records(count: 20, seed: 5), sql: SQLiteLedger.bulkInsertSQL, db)
        }
        #expect(try Self.tables(path).contains("requests_bulk"))
        #expect(try !Self.schema(path).contains { $0.hasPrefix("index requests_grant_started_at") })

        // An import still alive: its staging table stays, and no other bulk import starts.
        do {
            let alive = try #require(BulkImportLock(ledgerPath: path))
            #expect(BulkImportLock(ledgerPath: path) == nil)
            let opened = try SQLiteLedger(path: path)
            #expect(try Self.tables(path).contains("requests_bulk"))
            #expect(try await opened.beginBulkImport() == nil)
            withExtendedLifetime(alive) {}
        }

        // Gone: the next open cleans up.
        let ledger = try SQLiteLedger(path: path)
        #expect(try await ledger.requestCount() == 0)
        #expect(try await ledger.usage(UsageQuery()).isEmpty)
        #expect(try Self.tables(path) == Self.tables(freshPath))
        #expect(try Self.schema(path) == Self.schema(freshPath))
        let bulk = try #require(try await ledger.beginBulkImport())
        await bulk.abort()
    }

    /// Migration 018 turns a ledger's primary key on id into a unique index: rows, rowids and
    /// other indexes kept, and an insert of an id already there still does nothing.
    @Test func theIdKeyBecomesAUniqueIndex() async throws {
        let path = Self.temporaryPath()
        defer { Self.remove(path) }
        let records = LedgerSamples.records(count: 300, seed: 11)
        var before: [String] = []
        do {
            let queue = try DatabaseQueue(path: path)
            try SQLiteMigrations.migrator.migrate(queue, upTo: "017_import_files")
            try await queue.write { db in try RollupTests.writeRows(records, db) }
            before = try await queue.read { db in try String.fetchAll(db, sql: "SELECT id FROM requests ORDER BY rowid") }
        }
        #expect(try Self.schema(path).contains { $0.hasPrefix("index sqlite_autoindex_requests_1") })
        let ledger = try SQLiteLedger(path: path)
        let after = try await DatabaseQueue(path: path).read { db in try String.fetchAll(db, sql: "SELECT id FROM requests ORDER BY rowid") }
        #expect(after == before && after.count == 300)
        let schema = try Self.schema(path)
        #expect(schema.contains("index requests_id: CREATE UNIQUE INDEX requests_id ON requests (id)"))
        #expect(schema.contains("index requests_run: CREATE INDEX requests_run ON requests (run)"))
        #expect(!schema.contains { $0.contains("autoindex") || $0.contains("PRIMARY KEY") })
        try await ledger.insert(Array(records.prefix(5)))
        #expect(try await ledger.requestCount() == 300)
        let stored = try await ledger.request(id: records[0].id)
        #expect(stored?.usage == records[0].usage && stored?.attribution.run == records[0].attribution.run)
    }
}
