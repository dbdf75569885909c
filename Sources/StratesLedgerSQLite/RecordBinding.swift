import Foundation
import GRDB
import GRDBSQLite
import StratesCore
import StratesLedger

/// Runs one of the request inserts for a record, binding its values straight to SQLite.
/// Building GRDB argument arrays (an array of existentials per record) was most of a large
/// import's insert time; the columns are bound here in `RequestRecord.visitColumns`' order,
/// which `insertRequestSQL` lists them in.
enum RecordBinding {
    static func run(_ statement: Statement, _ r: RequestRecord, in db: Database) throws {
        var texts = RowText()
        try run(statement, r, in: db, texts: &texts)
    }

    /// Runs the insert for `r`, laying its text values out in `texts` (kept by the caller
    /// from one record to the next, so its memory is reused).
    static func run(_ statement: Statement, _ r: RequestRecord, in db: Database, texts: inout RowText) throws {
        let handle = statement.sqliteStatement
        sqlite3_reset(handle)
        var binder = Binder(handle: handle)
        swap(&binder.texts, &texts)
        defer { swap(&binder.texts, &texts) }
        var record = r
        record.visitColumns(&binder)
        try binder.step(statement, in: db)
    }

    /// Runs a statement whose values are bound, expecting no rows.
    static func step(_ statement: Statement, in db: Database) throws {
        let code = sqlite3_step(statement.sqliteStatement)
        guard code == SQLITE_DONE else {
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)), sql: statement.sql)
        }
    }

    /// One row's text values laid end to end. SQLite is handed pointers into it instead of
    /// a copy of each value to make (a malloc and a free per text column, under SQLite's
    /// allocator lock, a visible share of an import's write time).
    struct RowText {
        var bytes: [UInt8] = []
        var slots: [(index: Int32, start: Int, count: Int)] = []
    }

    struct Binder: RecordColumnVisitor {
        let handle: SQLiteStatement
        var index: Int32 = 0
        var texts = RowText()

        init(handle: SQLiteStatement) {
            self.handle = handle
        }

        mutating func text(_ value: String?) {
            index += 1
            guard var text = value else {
                sqlite3_bind_null(handle, index)
                return
            }
            let start = texts.bytes.count
            text.withUTF8 { texts.bytes.append(contentsOf: $0) }
            texts.slots.append((index, start, texts.bytes.count - start))
        }

        mutating func int(_ value: Int64?) {
            index += 1
            guard let value else {
                sqlite3_bind_null(handle, index)
                return
            }
            sqlite3_bind_int64(handle, index, value)
        }

        mutating func text(_ column: RecordColumn, _ value: inout String?) { text(value ?? column.storedForNil?.description) }
        mutating func integer(_ column: RecordColumn, _ value: inout Int64?) { int(value) }
        mutating func flag(_ column: RecordColumn, _ value: inout Bool) { int(value ? 1 : 0) }
        mutating func time(_ column: RecordColumn, _ value: inout Date?) { int(value.map(SQLiteLedger.millis)) }

        /// Binds the text values where they lie in `texts` (SQLite is told they stay put:
        /// they do until the step is over, and the bindings are cleared before `texts`
        /// changes), runs the statement, and empties `texts` for the next row.
        mutating func step(_ statement: Statement, in db: Database) throws {
            defer {
                sqlite3_clear_bindings(handle)
                texts.bytes.removeAll(keepingCapacity: true)
                texts.slots.removeAll(keepingCapacity: true)
            }
            try texts.bytes.withUnsafeBufferPointer { bytes in
                for slot in texts.slots {
                    let text = slot.count == 0 ? UnsafeRawPointer(Binder.empty.utf8Start) : UnsafeRawPointer(bytes.baseAddress! + slot.start)
                    sqlite3_bind_text(handle, slot.index, text.assumingMemoryBound(to: CChar.self), Int32(slot.count), Binder.stays)
                }
                try RecordBinding.step(statement, in: db)
            }
        }

        /// SQLITE_STATIC: SQLite reads the text where it lies, without a copy.
        static let stays = unsafeBitCast(0, to: sqlite3_destructor_type.self)
        static let empty: StaticString = ""
    }
}
