import Foundation
import StratesCore

/// Writes journal lines directly as bytes. The journal is written twice per request on the
/// hot path, where `JSONEncoder` was a large share of the gateway's CPU; recovery (rare)
/// still reads the lines with `JSONDecoder`, and a property test keeps the two in step.
/// The members are `RequestRecord.visitColumns`' keys.
/// The shape is exactly what `JournalEntry`'s synthesized `Codable` reads: camelCase keys,
/// dates as milliseconds since 1970, absent optionals left out.
enum JournalLineEncoder {
    static func line(_ kind: JournalEntry.Kind, _ r: RequestRecord) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(640)
        var writer = ObjectWriter(out: out)
        writer.string("kind", kind.rawValue)
        writer.key("record")
        var fields = RecordWriter(record: ObjectWriter(out: writer.out))
        var record = r
        record.visitColumns(&fields)
        writer.out = fields.close()
        out = writer.close()
        out.append(UInt8(ascii: "\n"))
        return out
    }

    /// Writes a record's columns as members of its object, opening the nested `attribution`
    /// and `usage` objects as the columns of each group come.
    struct RecordWriter: RecordColumnVisitor {
        /// The object being written: the record's, or a nested one inside `outer`.
        var current: ObjectWriter
        var outer: ObjectWriter?
        var group = RecordColumn.Group.record

        init(record: ObjectWriter) {
            current = record
        }

        mutating func text(_ column: RecordColumn, _ value: inout String?) {
            enter(column.group)
            current.string(column.key, value)
        }

        mutating func integer(_ column: RecordColumn, _ value: inout Int64?) {
            enter(column.group)
            current.int(column.key, value)
        }

        mutating func flag(_ column: RecordColumn, _ value: inout Bool) {
            enter(column.group)
            current.bool(column.key, value)
        }

        mutating func time(_ column: RecordColumn, _ value: inout Date?) {
            enter(column.group)
            current.date(column.key, value)
        }

        /// Closes the nested object being written when the group changes, and opens the next.
        private mutating func enter(_ next: RecordColumn.Group) {
            guard next != group else { return }
            leaveNested()
            group = next
            guard next != .record else { return }
            current.key(next == .attribution ? "attribution" : "usage")
            outer = current
            var bytes: [UInt8] = []
            bytes.reserveCapacity(256)
            current = ObjectWriter(out: bytes)
        }

        private mutating func leaveNested() {
            guard var object = outer else { return }
            object.out.append(contentsOf: current.close())
            current = object
            outer = nil
        }

        mutating func close() -> [UInt8] {
            leaveNested()
            return current.close()
        }
    }

    /// Appends `"key":value` members to an object, opening it on the first.
    struct ObjectWriter {
        var out: [UInt8]
        var first = true

        init(out: [UInt8]) {
            self.out = out
            self.out.append(UInt8(ascii: "{"))
        }

        mutating func key(_ name: String) {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            JSONText.appendQuoted(name, to: &out)
            out.append(UInt8(ascii: ":"))
        }

        mutating func string(_ name: String, _ value: String?) {
            guard let value else { return }
            key(name)
            JSONText.appendQuoted(value, to: &out)
        }

        mutating func int(_ name: String, _ value: Int64?) {
            guard let value else { return }
            key(name)
            out.append(contentsOf: String(value).utf8)
        }

        mutating func bool(_ name: String, _ value: Bool) {
            key(name)
            out.append(contentsOf: value ? Array("true".utf8) : Array("false".utf8))
        }

        mutating func date(_ name: String, _ value: Date?) {
            guard let value else { return }
            int(name, Int64((value.timeIntervalSince1970 * 1000).rounded()))
        }

        mutating func close() -> [UInt8] {
            out.append(UInt8(ascii: "}"))
            return out
        }
    }
}
