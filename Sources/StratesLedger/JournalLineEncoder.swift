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
        var writer = RecordWriter(kind: kind)
        var record = r
        record.visitColumns(&writer)
        return writer.finish()
    }

    /// Writes `{"kind":…,"record":{…}}` and a line break into one buffer: the record's
    /// columns as members of its object, the `attribution` and `usage` groups each opening
    /// a nested object as their first column comes.
    struct RecordWriter: RecordColumnVisitor {
        var line = ObjectWriter()
        var group = RecordColumn.Group.record

        init(kind: JournalEntry.Kind) {
            line.out.reserveCapacity(640)
            line.open()
            line.string("kind", kind.rawValue)
            line.key("record")
            line.open()
        }

        mutating func text(_ column: RecordColumn, _ value: inout String?) {
            enter(column.group)
            line.string(column.key, value)
        }

        mutating func integer(_ column: RecordColumn, _ value: inout Int64?) {
            enter(column.group)
            line.int(column.key, value)
        }

        mutating func flag(_ column: RecordColumn, _ value: inout Bool) {
            enter(column.group)
            line.bool(column.key, value)
        }

        mutating func time(_ column: RecordColumn, _ value: inout Date?) {
            enter(column.group)
            line.date(column.key, value)
        }

        /// Closes the nested object being written when the group changes, and opens the next.
        private mutating func enter(_ next: RecordColumn.Group) {
            guard next != group else { return }
            if group != .record { line.close() }
            group = next
            guard next != .record else { return }
            line.key(next == .attribution ? "attribution" : "usage")
            line.open()
        }

        /// The whole line; the writer is left empty.
        mutating func finish() -> [UInt8] {
            enter(.record)
            line.close()
            line.close()
            line.out.append(UInt8(ascii: "\n"))
            var bytes: [UInt8] = []
            swap(&bytes, &line.out)
            return bytes
        }
    }

    /// Appends `"key":value` members to the innermost open object. Objects nest at most two
    /// deep here, so one flag is enough: once a nested object closes, its parent has a member.
    struct ObjectWriter {
        var out: [UInt8] = []
        var first = true

        mutating func open() {
            out.append(UInt8(ascii: "{"))
            first = true
        }

        mutating func close() {
            out.append(UInt8(ascii: "}"))
            first = false
        }

        /// A member's name: ASCII letters, as the record's keys are, so written unescaped.
        mutating func key(_ name: StaticString) {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
            out.append(UInt8(ascii: "\""))
            out.append(UInt8(ascii: ":"))
        }

        mutating func string(_ name: StaticString, _ value: String?) {
            guard let value else { return }
            key(name)
            JSONText.appendQuoted(value, to: &out)
        }

        mutating func int(_ name: StaticString, _ value: Int64?) {
            guard let value else { return }
            key(name)
            out.append(contentsOf: String(value).utf8)
        }

        mutating func bool(_ name: StaticString, _ value: Bool) {
            key(name)
            out.append(contentsOf: value ? "true".utf8 : "false".utf8)
        }

        mutating func date(_ name: StaticString, _ value: Date?) {
            guard let value else { return }
            int(name, Int64((value.timeIntervalSince1970 * 1000).rounded()))
        }
    }
}
