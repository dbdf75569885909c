import CByteScan
import Foundation

/// Reads the few fields Strates needs from a JSON document without building the rest.
///
/// The gateway must forward bodies byte for byte, so it never decodes and re-encodes them;
/// it only needs `model`, `stream`, `max_tokens`, `metadata` and, from responses, `usage`.
/// The scanner walks the top level of an object, skipping other values by structure
/// (strings with escapes, nested brackets), and hands back the byte range of each wanted
/// member. Structure is validated on the path it walks; the content of skipped values
/// is the upstream's to judge.
public struct JSONScanner {
    public struct Error: Swift.Error, Equatable, CustomStringConvertible {
        public var offset: Int
        public var reason: String
        public var description: String { "\(reason) at byte \(offset)" }
    }

    let bytes: UnsafeRawBufferPointer
    var index: Int

    public init(_ bytes: UnsafeRawBufferPointer, from start: Int = 0) {
        self.bytes = bytes
        self.index = start
    }

    /// The members of the object that starts at the current position (after whitespace),
    /// as key → byte range of the value. Only keys in `wanted` are kept (all when nil).
    /// Later duplicates win, as in most JSON parsers.
    public mutating func objectMembers(wanted: Set<String>? = nil) throws -> [String: Range<Int>] {
        try objectMembers(keys: wanted.map { Array($0) })
    }

    /// `objectMembers(wanted:)` with the wanted keys as a list: a handful of keys are
    /// compared faster than a set is built and hashed.
    public mutating func objectMembers(keys: [String]?) throws -> [String: Range<Int>] {
        var result: [String: Range<Int>] = [:]
        try walkObject { scanner, key in
            let start = scanner.index
            try scanner.skipValue(depth: 0)
            if let name = scanner.keep(key.range, keys: keys) { result[name] = start..<scanner.index }
            return true
        }
        return result
    }

    /// The key to keep a member under, or nil to drop it. Most keys have no escapes, so
    /// their raw bytes are compared with the wanted keys: no `String` is made or hashed
    /// for a key nobody asked for (every key of every streamed chunk, before).
    func keep(_ keyRange: Range<Int>, keys: [String]?) -> String? {
        guard let keys else { return JSONValue.decodeString(bytes, keyRange) ?? "" }
        if keys.isEmpty { return nil }
        let raw = UnsafeRawBufferPointer(rebasing: bytes[keyRange])
        if raw.contains(UInt8(ascii: "\\")) {
            let key = JSONValue.decodeString(bytes, keyRange) ?? ""
            return keys.contains(key) ? key : nil
        }
        for key in keys where key.utf8.count == raw.count {
            let same =
                key.utf8.withContiguousStorageIfAvailable { memcmp($0.baseAddress!, raw.baseAddress!, raw.count) == 0 }
                ?? key.utf8.elementsEqual(raw)
            if same { return key }
        }
        return nil
    }

    /// The byte ranges of the elements of the array at the current position.
    public mutating func arrayElements(limit: Int = .max) throws -> [Range<Int>] {
        skipWhitespace()
        try expect(UInt8(ascii: "["))
        var result: [Range<Int>] = []
        skipWhitespace()
        if peek() == UInt8(ascii: "]") {
            index += 1
            return result
        }
        while true {
            skipWhitespace()
            let start = index
            try skipValue(depth: 0)
            if result.count < limit { result.append(start..<index) }
            skipWhitespace()
            guard let next = peek() else { throw fail("unterminated array") }
            index += 1
            if next == UInt8(ascii: "]") { return result }
            if next != UInt8(ascii: ",") { throw Error(offset: index - 1, reason: "expected ',' or ']'") }
        }
    }

    /// Checks that only whitespace follows the current position.
    public mutating func expectEnd() throws {
        skipWhitespace()
        if index != bytes.count { throw fail("unexpected data after the JSON value") }
    }

    static let maxDepth = 512

    mutating func skipValue(depth: Int) throws {
        guard depth < Self.maxDepth else { throw fail("nesting deeper than \(Self.maxDepth)") }
        guard let byte = peek() else { throw fail("unexpected end of JSON") }
        switch byte {
        case UInt8(ascii: "\""):
            _ = try skipString()
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            try skipContainer(depth: depth)
        case UInt8(ascii: "t"): try skipLiteral("true")
        case UInt8(ascii: "f"): try skipLiteral("false")
        case UInt8(ascii: "n"): try skipLiteral("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            try skipNumber()
        default:
            throw fail("unexpected character")
        }
    }

    /// Skips a nested object or array by bracket matching, honouring strings.
    mutating func skipContainer(depth: Int) throws {
        var stack: [UInt8] = []
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                stack.append(byte)
                if depth + stack.count > Self.maxDepth { throw fail("nesting deeper than \(Self.maxDepth)") }
                index += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                let open = byte == UInt8(ascii: "}") ? UInt8(ascii: "{") : UInt8(ascii: "[")
                guard stack.last == open else { throw fail("mismatched bracket") }
                stack.removeLast()
                index += 1
                if stack.isEmpty { return }
            case UInt8(ascii: "\""):
                _ = try skipString()
            default:
                index += 1
            }
        }
        throw fail("unterminated container")
    }

    /// Skips a string; returns the range of its content (between the quotes).
    mutating func skipString() throws -> Range<Int> {
        try expect(UInt8(ascii: "\""))
        let start = index
        let count = bytes.count
        var i = index
        while true {
            // Eight bytes checked here; when none of them is a quote, a backslash or a control
            // character, the string is likely long (a coding agent's prompt is mostly one long
            // string) and the rest of its plain run is found sixteen bytes at a time in C.
            if i + 8 <= count, !Self.needsLook(bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)), let base = bytes.baseAddress {
                i += 8
                i += strates_json_string_stop(base + i, count - i)
            }
            guard i < count else { break }
            let byte = bytes[i]
            if byte == UInt8(ascii: "\"") {
                index = i + 1
                return start..<i
            }
            if byte == UInt8(ascii: "\\") {
                i += 2
            } else if byte < 0x20 {
                index = i
                throw fail("control character in string")
            } else {
                i += 1
            }
        }
        index = count
        throw Error(offset: start - 1, reason: "unterminated string")
    }

    /// Whether any of the eight bytes is `"`, `\` or below 0x20 (SWAR: a byte equal to
    /// `c` is a zero byte of `word ^ c…c`, and `(x - 0x01…01) & ~x & 0x80…80` is non-zero
    /// exactly when `x` has a zero byte; the same with 0x20 finds bytes below 0x20).
    @inline(__always)
    static func needsLook(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        let quotes = word ^ (ones &* 0x22)
        let backslashes = word ^ (ones &* 0x5C)
        let hasQuote = (quotes &- ones) & ~quotes & highs
        let hasBackslash = (backslashes &- ones) & ~backslashes & highs
        let hasControl = (word &- ones &* 0x20) & ~word & highs
        return (hasQuote | hasBackslash | hasControl) != 0
    }

    mutating func skipLiteral(_ literal: StaticString) throws {
        let count = literal.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw fail("unexpected end of JSON") }
        let expected = UnsafeRawBufferPointer(start: literal.utf8Start, count: count)
        for i in 0..<count where bytes[index + i] != expected[i] { throw fail("invalid literal") }
        index += count
    }

    mutating func skipNumber() throws {
        let start = index
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "+"),
                UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"):
                index += 1
            default:
                if index == start { throw fail("invalid number") }
                return
            }
        }
    }

    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

    mutating func expect(_ byte: UInt8) throws {
        guard index < bytes.count else { throw fail("unexpected end of JSON") }
        guard bytes[index] == byte else { throw fail("expected '\(Character(Unicode.Scalar(byte)))'") }
        index += 1
    }

    func fail(_ reason: String) -> Error { Error(offset: index, reason: reason) }
}
