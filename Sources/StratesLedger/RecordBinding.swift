import GRDB
import GRDBSQLite
import StratesCore

/// Runs one of the request inserts for a record, binding its values straight to SQLite.
/// Building GRDB argument arrays (an array of existentials per record) took half the insert
/// time of a large import; the columns are bound here in `insertRequestSQL`'s order.
enum RecordBinding {
    static func run(_ statement: Statement, _ r: RequestRecord, in db: Database) throws {
        let handle = statement.sqliteStatement
        sqlite3_reset(handle)
        var binder = Binder(handle: handle)
        let a = r.attribution
        binder.text(r.id)
        binder.int(SQLiteLedger.millis(r.startedAt))
        binder.int(r.endedAt.map(SQLiteLedger.millis))
        binder.text(r.api)
        binder.int(r.stream ? 1 : 0)
        binder.text(r.status.rawValue)
        binder.int(r.httpStatus.map(Int64.init))
        // One call per column: a loop over an array literal of them allocated the array
        // for every record.
        binder.text(a.keyID); binder.text(a.organization); binder.text(a.team); binder.text(a.member)
        binder.text(a.service); binder.text(a.environment.rawValue); binder.text(a.workflow); binder.text(a.run)
        binder.text(a.parentRun); binder.text(a.process); binder.text(a.endUser); binder.text(a.traceID)
        binder.text(r.requestedModel); binder.text(r.servedModel); binder.text(r.provider); binder.text(r.upstreamRequestID)
        binder.int(r.latencyMs)
        binder.int(r.timeToFirstTokenMs)
        binder.int(r.usage.input); binder.int(r.usage.output); binder.int(r.usage.cacheRead)
        binder.int(r.usage.cacheWrite5m); binder.int(r.usage.cacheWrite1h); binder.int(r.usage.reasoning)
        binder.int(r.usageEstimated ? 1 : 0)
        binder.int(r.cost?.value)
        binder.text(r.error)
        binder.int(r.inputEstimate)
        binder.text((r.serviceTier ?? .standard).rawValue)
        binder.int(r.outputCap)
        binder.text(r.downgradedBy); binder.text(r.grantID); binder.text(r.route); binder.text(r.failedAttempts)
        binder.text(r.routingRule); binder.text(r.taskClass); binder.text(r.autoTier); binder.text(r.routingReason)
        binder.text(r.baselineModel); binder.text(r.source); binder.text(r.turn)
        try step(statement, in: db)
    }

    /// Runs a statement whose values are bound, expecting no rows.
    static func step(_ statement: Statement, in db: Database) throws {
        let code = sqlite3_step(statement.sqliteStatement)
        guard code == SQLITE_DONE else {
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)), sql: statement.sql)
        }
    }

    struct Binder {
        let handle: SQLiteStatement
        var index: Int32 = 0
        /// SQLite copies the text (the Swift string's buffer lives only for the call).
        static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

        mutating func text(_ value: String?) {
            index += 1
            guard var text = value else { sqlite3_bind_null(handle, index); return }
            text.withUTF8 { bytes in
                guard let base = bytes.baseAddress else {
                    _ = sqlite3_bind_text(handle, index, "", 0, Self.transient)
                    return
                }
                _ = sqlite3_bind_text(handle, index, UnsafeRawPointer(base).assumingMemoryBound(to: CChar.self), Int32(bytes.count), Self.transient)
            }
        }

        mutating func int(_ value: Int64?) {
            index += 1
            guard let value else { sqlite3_bind_null(handle, index); return }
            sqlite3_bind_int64(handle, index, value)
        }
    }
}
