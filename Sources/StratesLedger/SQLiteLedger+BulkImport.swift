import Dispatch
import GRDB
import StratesCore
import Synchronization

/// The writes of a first import into an empty ledger: every record new, all of them in one
/// transaction, with the requests' indexes dropped at its start and built once at its end.
///
/// Kept up row by row, the id index alone cost an import half its write time: its keys are
/// hashes, so each batch dirtied most of its pages and wrote them to the log again. SQLite
/// alone copying a million imported rows took 9.7-11.3 s into the kept-up indexes and 5.4 s
/// with the indexes built after (BENCHMARKS.md). Nothing is visible until the end, and a
/// failure anywhere leaves the ledger as it was: empty, with its indexes.
public protocol BulkImportWriter: Sendable {
    /// Writes records none of which the ledger holds or was given before.
    func write(_ records: [RequestRecord]) async throws
    /// Builds the indexes and commits.
    func finish() async throws
    /// Rolls everything back.
    func abort() async
}

extension SQLiteLedger {
    static func holdsRequests(_ db: Database) throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM requests)") ?? false
    }

    static let bulkInsertSQL = insertRequestSQL.replacingOccurrences(of: "ON CONFLICT (id) DO NOTHING", with: "")

    /// A bulk import, when the ledger holds no request; nil otherwise. Until it finishes or
    /// is aborted, the ledger's writer is its own: other writes wait (a gateway's records
    /// wait in its journal).
    public func beginBulkImport() async throws -> (any BulkImportWriter)? {
        guard try await !writer.read(Self.holdsRequests) else { return nil }
        let feed = BulkFeed()
        let task = Task { [writer] in
            do {
                try await writer.write { db in try feed.drain(into: db) }
            } catch {
                feed.fail(error)
                throw error
            }
        }
        return BulkImport(feed: feed, task: task)
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

    /// Runs the bulk import in `db`'s transaction, on the writer's thread.
    func drain(into db: Database) throws {
        guard try !SQLiteLedger.holdsRequests(db) else { throw NotEmpty() }
        try db.execute(sql: "PRAGMA cache_size = -262144")
        try db.execute(sql: "PRAGMA wal_autocheckpoint = 32768")
        let indexes = try Row.fetchAll(db, sql: """
            SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'requests' AND sql IS NOT NULL ORDER BY name != 'requests_id', name
            """).map { (name: $0[0] as String, sql: $0[1] as String) }
        for index in indexes { try db.execute(sql: "DROP INDEX \(index.name)") }
        let insert = try db.makeStatement(sql: SQLiteLedger.bulkInsertSQL)
        var texts = RecordBinding.RowText()
        while true {
            ready.wait()
            guard let item = state.withLock({ $0.items.isEmpty ? nil : $0.items.removeFirst() }) else { throw Aborted() }
            switch item {
            case .records(let records, let written):
                do {
                    for record in records { try RecordBinding.run(insert, record, in: db, texts: &texts) }
                    try Rollups.fold(records: records, db)
                } catch {
                    written.resume(throwing: error)
                    throw error
                }
                written.resume()
            case .finish:
                // A duplicate id fails the unique index here, and the whole import with it.
                for index in indexes { try db.execute(sql: index.sql) }
                return
            case .abort:
                throw Aborted()
            }
        }
    }
}
