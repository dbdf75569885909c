import StratesCore

/// A read-only view of one JSON value inside a byte array, navigated lazily.
public struct JSONView: Sendable {
    public let bytes: [UInt8]
    public let range: Range<Int>

    public init(bytes: [UInt8], range: Range<Int>) {
        self.bytes = bytes
        self.range = range
    }

    /// Views the whole document after checking that it is one JSON object and nothing else.
    public init(object bytes: [UInt8]) throws {
        var start = 0
        var end = 0
        try bytes.withUnsafeBytes { raw in
            var scanner = JSONScanner(raw)
            scanner.skipWhitespace()
            start = scanner.index
            _ = try scanner.objectMembers(wanted: [])
            end = scanner.index
            try scanner.expectEnd()
        }
        self.bytes = bytes
        self.range = start..<end
    }

    /// The listed members of `bytes`, which must be one JSON object and nothing else: the
    /// check and the lookup in one pass (`init(object:)` then `members` walks the object twice).
    public static func object(_ bytes: [UInt8], members keys: [String]) throws -> [String: JSONView] {
        let found: [String: Range<Int>] = try bytes.withUnsafeBytes { raw in
            var scanner = JSONScanner(raw)
            let found = try scanner.objectMembers(keys: keys)
            try scanner.expectEnd()
            return found
        }
        return found.mapValues { JSONView(bytes: bytes, range: $0) }
    }

    var first: UInt8? { range.isEmpty ? nil : bytes[range.lowerBound] }

    public var isObject: Bool { first == UInt8(ascii: "{") }
    public var isArray: Bool { first == UInt8(ascii: "[") }
    public var isNull: Bool { first == UInt8(ascii: "n") }
    public var isString: Bool { first == UInt8(ascii: "\"") }

    /// All members of an object (empty for anything else or malformed input), or those in `wanted`.
    public func members(_ wanted: Set<String>? = nil) -> [String: JSONView] {
        members(keys: wanted.map { Array($0) })
    }

    /// The members whose keys are listed (array literals pick this over the `Set` form).
    public func members(_ keys: [String]) -> [String: JSONView] {
        members(keys: keys)
    }

    private func members(keys: [String]?) -> [String: JSONView] {
        guard isObject else { return [:] }
        let found: [String: Range<Int>]? = bytes.withUnsafeBytes { raw in
            var scanner = JSONScanner(raw, from: range.lowerBound)
            return try? scanner.objectMembers(keys: keys)
        }
        return (found ?? [:]).mapValues { JSONView(bytes: bytes, range: $0) }
    }

    public subscript(key: String) -> JSONView? { members([key])[key] }

    public func path(_ keys: String...) -> JSONView? {
        var current: JSONView? = self
        for key in keys { current = current?[key] }
        return current
    }

    public func elements(limit: Int = .max) -> [JSONView] {
        guard isArray else { return [] }
        let found: [Range<Int>]? = bytes.withUnsafeBytes { raw in
            var scanner = JSONScanner(raw, from: range.lowerBound)
            return try? scanner.arrayElements(limit: limit)
        }
        return (found ?? []).map { JSONView(bytes: bytes, range: $0) }
    }

    public var string: String? {
        guard isString else { return nil }
        return bytes.withUnsafeBytes { JSONValue.decodeString($0, (range.lowerBound + 1)..<(range.upperBound - 1)) }
    }

    /// An integer; a float with a zero fraction (e.g. `12.0`) is accepted, anything else is nil.
    public var int64: Int64? {
        guard let first, first == UInt8(ascii: "-") || (first >= 48 && first <= 57) else { return nil }
        let text = String(decoding: bytes[range], as: UTF8.self)
        if let value = Int64(text) { return value }
        if let double = Double(text), double.rounded() == double, abs(double) < 9e18 { return Int64(double) }
        return nil
    }

    public var bool: Bool? {
        switch first {
        case UInt8(ascii: "t"): return true
        case UInt8(ascii: "f"): return false
        default: return nil
        }
    }

    /// The exact source bytes of this value.
    public var raw: ArraySlice<UInt8> { bytes[range] }
    public var rawText: String { String(decoding: raw, as: UTF8.self) }
}

public enum JSONValue {
    /// Decodes the content of a JSON string (without quotes), resolving escapes.
    /// Returns nil on an invalid escape.
    public static func decodeString(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> String? {
        guard range.lowerBound >= 0, range.upperBound <= bytes.count, range.lowerBound <= range.upperBound else { return nil }
        // Fast path: no escapes.
        var hasEscape = false
        for i in range where bytes[i] == UInt8(ascii: "\\") {
            hasEscape = true
            break
        }
        if !hasEscape {
            return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self)
        }
        var out: [UInt8] = []
        out.reserveCapacity(range.count)
        var i = range.lowerBound
        var pendingHigh: UInt32?
        while i < range.upperBound {
            let byte = bytes[i]
            guard byte == UInt8(ascii: "\\") else {
                if pendingHigh != nil { return nil }
                out.append(byte)
                i += 1
                continue
            }
            guard i + 1 < range.upperBound else { return nil }
            let escape = bytes[i + 1]
            i += 2
            if escape != UInt8(ascii: "u"), pendingHigh != nil { return nil }
            switch escape {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                guard i + 4 <= range.upperBound else { return nil }
                var code: UInt32 = 0
                for j in i..<(i + 4) {
                    guard let digit = hexValue(bytes[j]) else { return nil }
                    code = code << 4 | digit
                }
                i += 4
                if let high = pendingHigh {
                    guard (0xDC00...0xDFFF).contains(code) else { return nil }
                    let scalar = 0x10000 + ((high - 0xD800) << 10) + (code - 0xDC00)
                    append(scalar, to: &out)
                    pendingHigh = nil
                } else if (0xD800...0xDBFF).contains(code) {
                    pendingHigh = code
                } else if (0xDC00...0xDFFF).contains(code) {
                    return nil
                } else {
                    append(code, to: &out)
                }
            default:
                return nil
            }
        }
        if pendingHigh != nil { return nil }
        return String(decoding: out, as: UTF8.self)
    }

    static func hexValue(_ byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(byte - 48)
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return UInt32(byte - 87)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return UInt32(byte - 55)
        default: return nil
        }
    }

    static func append(_ scalar: UInt32, to out: inout [UInt8]) {
        guard let value = Unicode.Scalar(scalar) else { return }
        out.append(contentsOf: String(Character(value)).utf8)
    }

    /// Encodes `text` as a JSON string literal, quotes included.
    public static func quote(_ text: String) -> String { JSONText.quote(text) }
}
