import Foundation

/// Something an admin defines by name on one scope: a budget, a rate limit, a model
/// access policy. The gateway finds the rules covering a request by its attribution.
public protocol ScopedRule: Sendable {
    var id: String { get }
    /// Unique among rules of its kind, chosen by the user: what errors call the rule.
    var name: String { get }
    var scope: BudgetScope { get }
}

/// A rule stored as a JSON definition and managed through one generic admin API and CLI
/// (`/api/limits`, `/api/policies`; `strates limits|policies`).
public protocol ControlRule: ScopedRule, Codable, Equatable {
    /// The stored kind, the id prefix and the API path word: "limit", "policy".
    static var kind: String { get }
    /// What users call it in messages: "rate limit", "policy".
    static var noun: String { get }
    /// The admin API's collection and the CLI's command: "limits", "policies".
    static var collection: String { get }
    /// The fields the admin API accepts.
    static var fields: Set<String> { get }
    /// The rule `fields` make of `current` (or of a new rule with `id`), checked; throws
    /// every problem at once.
    static func make(from fields: inout RuleFields, current: Self?, id: String, now: Date) throws(RuleProblems) -> Self
    var createdAt: Date { get }
    var updatedAt: Date { get }
    /// One line for the CLI.
    var summary: String { get }
}

public struct RuleProblems: Error, Equatable, CustomStringConvertible {
    public var problems: [String]
    public init(_ problems: [String]) { self.problems = problems }
    public var description: String { problems.joined(separator: "; ") }
}

public typealias BudgetProblems = RuleProblems

/// What a request asks to do with one optional field: leave it, clear it (JSON null), or set it.
public enum FieldChange<Value: Sendable & Equatable>: Sendable, Equatable {
    case keep
    case clear
    case set(Value)

    public func applied(to current: Value?) -> Value? {
        switch self {
        case .keep: current
        case .clear: nil
        case .set(let value): value
        }
    }
}

/// Reads a rule's fields from a JSON object (the admin API's body, or the CLI's flags
/// turned into one), collecting every problem with the field's name in it.
public struct RuleFields {
    let object: [String: Any]
    public private(set) var problems: [String] = []

    public init(_ object: [String: Any], known: Set<String>) {
        self.object = object
        for key in object.keys.sorted() where !known.contains(key) {
            problems.append("unknown field '\(key)' (expected: \(known.sorted().joined(separator: ", ")))")
        }
    }

    public mutating func problem(_ text: String) { problems.append(text) }

    enum Raw {
        case absent, null
        case value(Any)
    }

    func raw(_ key: String) -> Raw {
        guard let value = object[key] else { return .absent }
        return value is NSNull ? .null : .value(value)
    }

    /// `.keep` or `.clear` for an absent or null field; nil when there is a value to read.
    func unset<Value>(_ raw: Raw) -> FieldChange<Value>? {
        switch raw {
        case .absent: .keep
        case .null: .clear
        case .value: nil
        }
    }

    public mutating func text(_ key: String) -> FieldChange<String> {
        let found = raw(key)
        if let unset: FieldChange<String> = unset(found) { return unset }
        guard case .value(let value) = found else { return .keep }
        if let string = value as? String { return .set(string) }
        problems.append("'\(key)' must be a string")
        return .keep
    }

    /// A whole number from `minimum` to `maximum`; a string of digits is accepted too (CLI flags).
    public mutating func wholeNumber(_ key: String, minimum: Int64 = 1, maximum: Int64 = Bounds.tokens) -> FieldChange<Int64> {
        let found = raw(key)
        if let unset: FieldChange<Int64> = unset(found) { return unset }
        guard case .value(let value) = found else { return .keep }
        var number: Int64?
        if let string = value as? String {
            number = Int64(string.trimmingCharacters(in: .whitespaces))
        } else if let json = Self.number(value) {
            number = Int64(exactly: json.doubleValue)
        }
        guard let number, number >= minimum, number <= maximum else {
            problems.append("'\(key)' must be a whole number from \(minimum) to \(maximum)")
            return .keep
        }
        return .set(number)
    }

    /// Dollars as a number or decimal text, kept as nano-USD without floating point.
    public mutating func dollars(_ key: String) -> FieldChange<Int64> {
        let found = raw(key)
        if let unset: FieldChange<Int64> = unset(found) { return unset }
        guard case .value(let value) = found else { return .keep }
        let text = (value as? String) ?? Self.number(value)?.stringValue
        guard let text, let nano = DecimalText.scaled(text, decimals: 9) else {
            problems.append("'\(key)' must be an amount of dollars, e.g. 15 or \"2.50\"")
            return .keep
        }
        if let problem = Bounds.moneyProblem(nano, field: "'\(key)'") {
            problems.append(problem)
            return .keep
        }
        return .set(nano)
    }

    /// A list of strings; a comma-separated string is accepted too (CLI flags).
    public mutating func list(_ key: String) -> FieldChange<[String]> {
        let found = raw(key)
        if let unset: FieldChange<[String]> = unset(found) { return unset }
        guard case .value(let value) = found else { return .keep }
        if let string = value as? String {
            return .set(string.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
        }
        if let items = value as? [Any], let strings = items as? [String] {
            return .set(strings.filter { !$0.isEmpty })
        }
        problems.append("'\(key)' must be a list of strings, e.g. [\"claude-*\", \"gpt-5-mini\"]")
        return .keep
    }

    /// The scope, required for a new rule.
    public mutating func scope(current: BudgetScope?) -> BudgetScope? {
        switch text("scope") {
        case .set(let text):
            guard let scope = BudgetScope(text: text) else {
                problems.append(BudgetScope.problem(text))
                return current
            }
            return scope
        case .keep, .clear:
            if current == nil { problems.append("scope is required, e.g. team:platform or member:ana") }
            return current
        }
    }

    /// A JSON number, not a boolean (Foundation reads both as NSNumber; on Linux a plain
    /// `is Bool` is true for 0 and 1 too).
    public static func number(_ value: Any) -> NSNumber? {
        guard let number = value as? NSNumber, String(cString: number.objCType) != "c" else { return nil }
        return number
    }

    /// Throws the problems collected so far, if any.
    public func check() throws(RuleProblems) {
        if !problems.isEmpty { throw RuleProblems(problems) }
    }
}

/// Rule names people can type and read: letters, digits, '-', '_', '.', at most 64, and
/// never the shape of an id (`bud_…`, `limit_…`): ids and names are looked up in one
/// place, so a name that could be another rule's id would let a rule pass for it.
public enum RuleName {
    public static let maxLength = 64

    public static func problem(_ name: String) -> String? {
        let allowed = name.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || "-_.".unicodeScalars.contains($0) }
        guard !name.isEmpty, name.unicodeScalars.count <= maxLength, allowed else {
            return "name '\(JSONText.printable(name.prefix(maxLength)))' must be 1 to \(maxLength) letters, digits, '-', '_' or '.'"
        }
        if looksLikeID(name) {
            return "name '\(name)' has the shape of an id (word_hex): choose a name that does not"
        }
        return nil
    }

    /// `bud_0123abcd…`: lower-case letters, '_', then eight or more hex digits, as ids are made.
    public static func looksLikeID(_ text: String) -> Bool {
        guard let underscore = text.firstIndex(of: "_") else { return false }
        let word = text[..<underscore]
        let hex = text[text.index(after: underscore)...]
        return !word.isEmpty && word.allSatisfy { $0.isASCII && $0.isLowercase } && hex.count >= 8 && hex.allSatisfy(\.isHexDigit)
    }

    /// `name` cleaned into a valid rule name (for names Strates makes up from a scope).
    public static func sanitized(_ name: String) -> String {
        let kept = String(name.filter { $0.isLetter || $0.isNumber || "-_.".contains($0) }.prefix(maxLength))
        return kept.isEmpty ? "rule" : kept
    }
}

extension Collection where Element: ScopedRule {
    /// The rule with this id or, failing that, with this name: an id always wins, so a
    /// rule's name can never stand in for another rule's id.
    public func named(_ idOrName: String) -> Element? {
        first { $0.id == idOrName } ?? first { $0.name == idOrName }
    }
}
