import Dispatch
import GRDB
import StratesCore
import Synchronization

/// The writes of a first import into an empty ledger: every record new, written bare, with
/// each of the requests' indexes built once at the end.
///
/// Kept up row by row, the id index alone cost an import half its write time: its keys are
/// hashes, so each batch dirtied most of its pages and wrote them to the log again. SQLite
/// alone copying a million imported rows took 9.7-11.3 s into the kept-up indexes and 5.4 s
/// with the indexes built after (BENCHMARKS.md).
///
/// Two transactions. The first writes the rows into `requests_bulk`, a table of the same
/// columns that nothing reads, while the import reads its files; the rollup sums are kept
/// in memory. The second puts that table in place of the (still empty) requests table,
/// builds the indexes and adds the rollups. Between the two, another connection copies the
/// first one's pages from the write-ahead log into the database, on the other core while the
/// indexes are built (in one transaction, that copy came after them). Readers see the empty
/// ledger until the second commits, then all of it. A failure anywhere leaves the ledger as
/// it was: empty, with its indexes (a `requests_bulk` left by a crash between the two is
/// dropped by the next bulk import).
public protocol BulkImportWriter: Sendable {
    /// Writes records none of which the ledger holds or was given before.
    func write(_ records: [RequestRecord]) async throws
    /// Puts the rows in place, builds the indexes and commits.
    func finish() async throws
    /// Rolls everything back.
    func abort() async
}

extension SQLiteLedger {
    static func holdsRequests(_ db: Database) throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM requests)") ?? false
    }

    static let bulkInsertSQL = insertRequestSQL
        .replacingOccurrences(of: "INSERT INTO requests (", with: "INSERT INTO requests_bulk (")
        .replacingOccurrences(of: "ON CONFLICT (id) DO NOTHING", with: "")

    /// A bulk import, when the ledger holds no request; nil otherwise. Until it finishes or
    /// is aborted, the ledger's writer is its own: other writes wait (a gateway's records
    /// wait in its journal).
    public func beginBulkImport() async throws -> (any BulkImportWriter)? {
        guard try await !writer.read(Self.holdsRequests) else { return nil }
        let feed = BulkFeed()
        let task = Task { [writer] in
            do {
                let tally = try await writer.write { db in try feed.drain(into: db) }
                // The rows' pages, from the log into the database, beside the index builds.
                let copy = Task.detached { [path = writer.path, pooled = writer is DatabasePool] in
                    if pooled { try? DatabaseQueue(path: path).writeWithoutTransaction { try $0.execute(sql: "PRAGMA wal_checkpoint(PASSIVE)") } }
                }
                try await writer.write { db in try Self.putInPlace(tally, db) }
                await copy.value
            } catch {
                feed.fail(error)
                try? await writer.write { db in
                    try db.execute(sql: "DROP TABLE IF EXISTS requests_bulk")
                    try Self.useImportSettings(db)
                }
                throw error
            }
        }
        return BulkImport(feed: feed, task: task)
    }

    /// The second transaction: `requests_bulk` becomes the requests table, its indexes are
    /// built as the requests table had them, and the rollups get the sums. Should a request
    /// have been written in between (a gateway on the same ledger), the rows are copied in
    /// instead, the slow way.
    static func putInPlace(_ tally: Rollups.Tally, _ db: Database) throws {
        try useImportSettings(db)
        if try holdsRequests(db) {
            try db.execute(sql: "INSERT INTO requests SELECT * FROM requests_bulk")
        } else {
            let indexes = try String.fetchAll(db, sql: """
                SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'requests' AND sql IS NOT NULL ORDER BY name != 'requests_id', name
                """)
            try db.execute(sql: "DROP TABLE requests")
            try db.execute(sql: "ALTER TABLE requests_bulk RENAME TO requests")
            // A duplicate id fails the unique index here, and the whole import with it.
            for index in indexes { try db.execute(sql: index) }
        }
        try db.execute(sql: "DROP TABLE IF EXISTS requests_bulk")
        var tally = tally
        try tally.write(db)
    }
}

/// A bulk import's handle: records handed to the ledger's writer, which waits for them
/// inside its transaction.
final class BulkImport: BulkImportWriter {
    let feed: BulkFeed
    let task: Task<Void, any Error>

    init(feed: BulkFeed, task: Task<Void, any Error>) {
        self.feed = feed
        self.task = task
    }

    func write(_ records: [RequestRecord]) async throws {
        try await withCheckedThrowingContinuation { written in feed.send(.records(records, written)) }
    }

    func finish() async throws {
        feed.send(.finish)
        try await task.value
    }

    func abort() async {
        feed.send(.abort)
        _ = try? await task.value
    }
}

/// Work handed to the writer's thread, which blocks for it: it holds the transaction open
/// between batches, so it cannot return to GRDB's queue in between.
final class BulkFeed: Sendable {
    enum Item {
        case records([RequestRecord], CheckedContinuation<Void, any Error>)
        case finish
        case abort
    }

    struct State {
        var items: [Item] = []
        var failure: (any Error)?
    }

    struct Aborted: Error {}
    struct NotEmpty: Error, CustomStringConvertible {
        var description: String { "the ledger received requests as the import began; run the import again" }
    }

    let state = Mutex(State())
    /// One signal per item queued.
    let ready = DispatchSemaphore(value: 0)

    /// Queues `item`; after a failure, fails it at once instead.
    func send(_ item: Item) {
        let failure: (any Error)? = state.withLock { state in
            if state.failure == nil { state.items.append(item) }
            return state.failure
        }
        if let failure {
            if case .records(_, let written) = item { written.resume(throwing: failure) }
        } else {
            ready.signal()
        }
    }

    /// Fails the batches waiting and every later one.
    func fail(_ error: any Error) {
        let waiting = state.withLock { state in
            if state.failure == nil { state.failure = error }
            defer { state.items.removeAll() }
            return state.items
        }
        for case .records(_, let written) in waiting { written.resume(throwing: error) }
    }

    /// Runs the bulk import's first transaction in `db`, on the writer's thread: the rows
    /// into `requests_bulk`; returns their rollup sums.
    func drain(into db: Database) throws -> Rollups.Tally {
        guard try !SQLiteLedger.holdsRequests(db) else { throw NotEmpty() }
        try SQLiteLedger.useImportSettings(db)
        // Its pages are copied into the database beside the next transaction, not at commit.
        try db.execute(sql: "PRAGMA wal_autocheckpoint = 0")
        guard let table = try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'requests'"),
              let columns = table.firstIndex(of: "(") else {
            throw DatabaseError(message: "the ledger has no requests table")
        }
        try db.execute(sql: "DROP TABLE IF EXISTS requests_bulk")
        try db.execute(sql: "CREATE TABLE requests_bulk " + table[columns...])
        let insert = try db.makeStatement(sql: SQLiteLedger.bulkInsertSQL)
        var texts = RecordBinding.RowText()
        var tally = Rollups.Tally()
        while true {
            ready.wait()
            guard let item = state.withLock({ $0.items.isEmpty ? nil : $0.items.removeFirst() }) else { throw Aborted() }
            switch item {
            case .records(let records, let written):
                do {
                    for record in records { try RecordBinding.run(insert, record, in: db, texts: &texts) }
                } catch {
                    written.resume(throwing: error)
                    throw error
                }
                tally.add(records)
                written.resume()
            case .finish:
                return tally
            case .abort:
                throw Aborted()
            }
        }
    }
}
