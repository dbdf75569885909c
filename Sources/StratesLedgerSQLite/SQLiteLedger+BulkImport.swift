import Dispatch
import GRDB
import StratesCore
import StratesLedger
import Synchronization

extension SQLiteLedger {
    static func holdsRequests(_ db: Database) throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM requests)") ?? false
    }

    static let bulkInsertSQL =
        insertRequestSQL
        .replacingOccurrences(of: "INSERT INTO requests (", with: "INSERT INTO requests_bulk (")
        .replacingOccurrences(of: "ON CONFLICT (id) DO NOTHING", with: "")

    /// Indexes of requests kept up while a bulk import writes its rows, instead of built
    /// after them: partial indexes of rows imports do not write (they carry no grant). Kept
    /// up, such an index costs nothing; built after, it is a scan of every row. It moves to `requests_bulk` in the first transaction and comes back with
    /// it; `requests_bulk_indexes` remembers it until then, so that a failed or interrupted
    /// import puts it back on requests.
    static let indexesKeptUpInBulk = ["requests_grant_started_at"]

    /// A bulk import, when the ledger holds no request and no other bulk import is under way
    /// on it; nil otherwise. Until it finishes or is aborted, the ledger's writer is its own:
    /// other writes wait (a gateway's records wait in its journal).
    public func beginBulkImport() async throws -> (any BulkImportWriter)? {
        guard try await !writer.read(Self.holdsRequests) else { return nil }
        var lock: BulkImportLock?
        if let pool = writer as? DatabasePool {
            guard let taken = BulkImportLock(ledgerPath: pool.path) else { return nil }
            lock = taken
        }
        let feed = BulkFeed()
        let task = Task { [writer, lock] in
            defer { withExtendedLifetime(lock) {} }
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
                    try Self.dropStaging(db)
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
        // Each index build reads the table once, in order: a cache smaller than the table
        // saves none of them a read. 64 MB holds the largest sort, the id's.
        try useImportSettings(db, cacheMB: 64)
        if try holdsRequests(db) {
            try db.execute(sql: "INSERT INTO requests SELECT * FROM requests_bulk")
        } else {
            let indexes = try String.fetchAll(
                db,
                sql: """
                    SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'requests' AND sql IS NOT NULL ORDER BY name != 'requests_id', name
                    """)
            try db.execute(sql: "DROP TABLE requests")
            try db.execute(sql: "ALTER TABLE requests_bulk RENAME TO requests")
            // A duplicate id fails the unique index here, and the whole import with it.
            for index in indexes { try db.execute(sql: index) }
        }
        try dropStaging(db)
        var tally = tally
        try tally.write(db)
    }
}

extension SQLiteLedger {
    /// Drops `requests_bulk` and puts back on requests the indexes moved to it
    /// (`indexesKeptUpInBulk`) that did not come back with it.
    static func dropStaging(_ db: Database) throws {
        try db.execute(sql: "DROP TABLE IF EXISTS requests_bulk")
        guard try db.tableExists("requests_bulk_indexes") else { return }
        for row in try Row.fetchAll(db, sql: "SELECT name, sql FROM requests_bulk_indexes ORDER BY name") {
            let name: String = row["name"]
            if try !(Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?)", arguments: [name]) ?? false) {
                try db.execute(sql: row["sql"])
            }
        }
        try db.execute(sql: "DROP TABLE requests_bulk_indexes")
    }

    /// In the first transaction: `requests_bulk` made anew with the columns of requests, and
    /// the indexes kept up in bulk moved to it.
    static func createStaging(_ db: Database) throws {
        guard let table = try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'requests'"),
            let columns = table.firstIndex(of: "(")
        else {
            throw DatabaseError(message: "the ledger has no requests table")
        }
        try dropStaging(db)
        try db.execute(sql: "CREATE TABLE requests_bulk " + table[columns...])
        try moveIndexesKeptUp(db)
    }

    /// Moves the indexes kept up in bulk from requests (empty) to `requests_bulk`,
    /// remembering their definitions.
    static func moveIndexesKeptUp(_ db: Database) throws {
        try db.execute(sql: "CREATE TABLE requests_bulk_indexes (name TEXT PRIMARY KEY, sql TEXT NOT NULL)")
        for name in indexesKeptUpInBulk {
            guard
                let definition = try String.fetchOne(
                    db, sql: "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'requests' AND name = ?", arguments: [name]
                )
            else { continue }
            // As migrations wrote it, or as SQLite rewrote it when a bulk import renamed the
            // table.
            var onStaging = definition
            for table in [" ON requests (", #" ON "requests" ("#] {
                onStaging = onStaging.replacingOccurrences(of: table, with: " ON requests_bulk (")
            }
            guard onStaging != definition else { continue }
            try db.execute(sql: "INSERT INTO requests_bulk_indexes (name, sql) VALUES (?, ?)", arguments: [name, definition])
            try db.execute(sql: "DROP INDEX \(name)")
            try db.execute(sql: onStaging)
        }
    }

    /// At open: a `requests_bulk` no live import holds was left by one that died between its
    /// two transactions, before its rows were put in place. The ledger never showed them;
    /// this takes back the staging table's space and puts back the indexes it took.
    static func dropStagingLeftByACrash(_ pool: DatabasePool) throws {
        guard try pool.read({ try $0.tableExists("requests_bulk") || $0.tableExists("requests_bulk_indexes") }) else { return }
        guard let lock = BulkImportLock(ledgerPath: pool.path) else { return }
        try withExtendedLifetime(lock) { try pool.write(dropStaging) }
    }
}

/// A bulk import's handle: records handed to the ledger's writer, which waits for them
/// inside its transaction.
/// SQLite's `BulkImportWriter`. The writes of a first import into an empty ledger: every record new, written bare, with
/// each of the requests' indexes built once at the end.
///
/// Kept up row by row, the id index alone was a large share of an import's write time: its keys are
/// hashes, so each batch dirtied most of its pages and wrote them to the log again. SQLite
/// alone copies the rows much faster with the indexes built after than into kept-up
/// ones (BENCHMARKS.md has the floor measured both ways).
///
/// Two transactions. The first writes the rows into `requests_bulk`, a table of the same
/// columns that nothing reads, while the import reads its files; the rollup sums are kept
/// in memory. The second puts that table in place of the (still empty) requests table,
/// builds the indexes and adds the rollups. Between the two, another connection copies the
/// first one's pages from the write-ahead log into the database, on the other core while the
/// indexes are built (in one transaction, that copy came after them). Readers see the empty
/// ledger until the second commits, then all of it. A failure anywhere leaves the ledger as
/// it was: empty, with its indexes. A `requests_bulk` left by a process that died between
/// the two is dropped when the ledger is next opened, or by the next bulk import
/// (`BulkImportLock` tells a dead import's from a live one's).
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
        // Rows are appended, so only the table's last pages are written to: a small cache
        // does. With the 256 MB the row-by-row path needs, it filled with rows written
        // already, raising the peak RSS for no time gained.
        try SQLiteLedger.useImportSettings(db, cacheMB: 32)
        // Its pages are copied into the database beside the next transaction, not at commit.
        try db.execute(sql: "PRAGMA wal_autocheckpoint = 0")
        try SQLiteLedger.createStaging(db)
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
