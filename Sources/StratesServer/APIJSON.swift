import Foundation
import StratesCore

/// A member name of an admin API object.
public struct FieldKey: CodingKey {
    public var stringValue: String
    public var intValue: Int? { nil }
    public init(_ name: String) { stringValue = name }
    public init?(stringValue: String) { self.stringValue = stringValue }
    public init?(intValue: Int) { nil }
}

/// The members of one admin API object. An optional without a value is written as `null`:
/// the API's objects always carry every member they document.
public typealias APIFields = KeyedEncodingContainer<FieldKey>

extension KeyedEncodingContainer where Key == FieldKey {
    public mutating func put(_ name: String, _ value: some Encodable) throws {
        try encode(value, forKey: FieldKey(name))
    }

    /// A time as the API writes every time: ISO 8601 in UTC, to the second.
    public mutating func put(_ name: String, time: Date?) throws {
        try encode(time.map(BudgetText.timestamp), forKey: FieldKey(name))
    }

    /// An amount of money as the API writes it: decimal dollars as text (exact, no float).
    public mutating func put(_ name: String, dollars: NanoUSD?) throws {
        try encode(dollars?.dollars, forKey: FieldKey(name))
    }

    /// A nested object.
    public mutating func put(_ name: String, object value: (some APIRepresentable)?) throws {
        try encode(value.map(APIObject.init), forKey: FieldKey(name))
    }

    /// A list of objects.
    public mutating func put(_ name: String, objects values: [some APIRepresentable]) throws {
        try encode(values.map(APIObject.init), forKey: FieldKey(name))
    }
}

/// A value of the domain as the admin API and the CLI's `--format json` show it. The domain
/// types do not render themselves: each one's members are listed here, in the API layer,
/// and written by the one encoder, `APIJSON`.
public protocol APIRepresentable {
    func encodeFields(_ fields: inout APIFields) throws
}

/// Encodes an `APIRepresentable` as one JSON object.
public struct APIObject<Value: APIRepresentable>: Encodable {
    public let value: Value
    public init(_ value: Value) { self.value = value }

    public func encode(to encoder: Encoder) throws {
        var fields = encoder.container(keyedBy: FieldKey.self)
        try value.encodeFields(&fields)
    }
}

/// A list as the admin API answers one: `{"object":"list", …, "data":[…]}`.
public struct APIList<Value: APIRepresentable>: APIRepresentable {
    public var items: [Value]
    /// Members the list carries besides its data (`"member"` of a member's grants).
    public var extra: [(name: String, value: String)]

    public init(_ items: [Value], extra: [(name: String, value: String)] = []) {
        self.items = items
        self.extra = extra
    }

    public func encodeFields(_ fields: inout APIFields) throws {
        try fields.put("object", "list")
        for (name, value) in extra { try fields.put(name, value) }
        try fields.put("data", objects: items)
    }
}

/// The one JSON encoder of the admin API and the CLI: members sorted by name (Foundation's
/// encoder keeps an object's members in a hash table, so without sorting two encodings of
/// one value could differ), `/` left unescaped, compact for the API and indented for people.
public enum APIJSON {
    public static func bytes(_ value: some APIRepresentable) -> [UInt8] {
        Array(encoded(APIObject(value), pretty: false))
    }

    public static func text(_ value: some APIRepresentable, pretty: Bool = false) -> String {
        String(decoding: encoded(APIObject(value), pretty: pretty), as: UTF8.self)
    }

    /// A JSON array of objects as the CLI prints a list: one object per line.
    public static func lines(_ values: [some APIRepresentable]) -> String {
        "[" + values.map { text($0) }.joined(separator: ",\n") + "]"
    }

    static func encoded(_ value: some Encodable, pretty: Bool) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted] : [.sortedKeys, .withoutEscapingSlashes]
        // Encoding fails only on a non-finite number, and no member holds one (ratios are
        // computed from positive counts); `null` keeps the answer valid JSON regardless.
        return (try? encoder.encode(value)) ?? Data("null".utf8)
    }
}
