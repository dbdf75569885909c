import Foundation

/// A single-pass walk over an object's members, for readers that want a few fields out of
/// large documents (a Claude Code transcript line is mostly message content): nothing is
/// collected, a member's value is either read where it stands or skipped by structure.
extension JSONScanner {
    /// A member's key as written between its quotes.
    public struct Key {
        let bytes: UnsafeRawBufferPointer
        let range: Range<Int>
        /// Whether the key is written with escapes (looked for once: a reader asks a key
        /// about several names).
        let escaped: Bool

        init(bytes: UnsafeRawBufferPointer, range: Range<Int>) {
            (self.bytes, self.range) = (bytes, range)
            escaped = UnsafeRawBufferPointer(rebasing: bytes[range]).contains(UInt8(ascii: "\\"))
        }

        /// Whether the key is `name` (an ASCII name; a key written with escapes is decoded first).
        public func `is`(_ name: StaticString) -> Bool {
            let count = name.utf8CodeUnitCount
            if !escaped { return range.count == count && memcmp(bytes.baseAddress! + range.lowerBound, name.utf8Start, count) == 0 }
            return JSONValue.decodeString(bytes, range) == name.description
        }
    }

    /// Walks the members of the object at the current position. `visit` gets each key with
    /// the scanner at the member's value: it returns true when it read the value (leaving
    /// the scanner after it), false to have the value skipped. Later duplicates are visited
    /// after earlier ones, so a reader that keeps the last value agrees with `objectMembers`.
    public mutating func walkObject(_ visit: (inout JSONScanner, Key) throws -> Bool) throws {
        skipWhitespace()
        try expect(UInt8(ascii: "{"))
        skipWhitespace()
        if peek() == UInt8(ascii: "}") {
            index += 1
            return
        }
        while true {
            skipWhitespace()
            let key = try skipString()
            skipWhitespace()
            try expect(UInt8(ascii: ":"))
            skipWhitespace()
            if try !visit(&self, Key(bytes: bytes, range: key)) { try skipValue(depth: 0) }
            skipWhitespace()
            guard let next = peek() else { throw fail("unterminated object") }
            index += 1
            if next == UInt8(ascii: "}") { return }
            if next != UInt8(ascii: ",") { throw Error(offset: index - 1, reason: "expected ',' or '}'") }
        }
    }

    /// Whether the value at the current position is an object.
    public var atObject: Bool { peek() == UInt8(ascii: "{") }

    /// The string at the current position (escapes resolved), or nil for any other value
    /// (skipped) or a string with an invalid escape.
    public mutating func readString() throws -> String? {
        guard peek() == UInt8(ascii: "\"") else {
            try skipValue(depth: 0)
            return nil
        }
        return JSONValue.decodeString(bytes, try skipString())
    }

    /// The integer at the current position, as `JSONView.int64` reads one (a float with a
    /// zero fraction is accepted), or nil for any other value (skipped).
    public mutating func readInt64() throws -> Int64? {
        guard let first = peek(), first == UInt8(ascii: "-") || (first >= 48 && first <= 57) else {
            try skipValue(depth: 0)
            return nil
        }
        let start = index
        try skipNumber()
        // Plain digits, at most 18 of them, cannot overflow: the common case, without a String.
        let digits = bytes[start] == UInt8(ascii: "-") ? start + 1 : start
        if index > digits, index - digits <= 18, (digits..<index).allSatisfy({ bytes[$0] >= 48 && bytes[$0] <= 57 }) {
            let magnitude = (digits..<index).reduce(Int64(0)) { $0 * 10 + Int64(bytes[$1] - 48) }
            return digits > start ? -magnitude : magnitude
        }
        return JSONView(bytes: Array(bytes[start..<index]), range: 0..<(index - start)).int64
    }

    /// True or false at the current position; nil for any other value (skipped).
    public mutating func readBool() throws -> Bool? {
        switch peek() {
        case UInt8(ascii: "t"):
            try skipLiteral("true")
            return true
        case UInt8(ascii: "f"):
            try skipLiteral("false")
            return false
        default:
            try skipValue(depth: 0)
            return nil
        }
    }
}
