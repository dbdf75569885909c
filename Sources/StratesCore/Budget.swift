import Foundation

/// A limit on what one scope may spend per period, in tokens or USD.
public struct Budget: ScopedRule, Codable, Equatable {
    public var id: String
    /// Unique, chosen by the user: what errors and alerts call the budget.
    public var name: String
    public var scope: BudgetScope
    public var period: BudgetPeriod
    /// IANA time zone in which days, weeks and months start.
    public var timeZone: String
    public var unit: BudgetUnit
    /// Nano-USD or tokens, by `unit`.
    public var limit: Int64
    public var enforcement: BudgetEnforcement
    /// What a hard budget does with a request it cannot cover in full.
    public var whenExhausted: BudgetExhaustion
    /// Percentages of the limit at which an alert goes out, once per period each.
    public var alertThresholds: [Int]
    /// A cheaper model requests move to as the budget nears exhaustion, instead of failing.
    public var downgradeTo: String?
    /// How full (spent + reserved + the request, in percent of the limit) the budget must be
    /// before requests move to `downgradeTo`.
    public var downgradeAtPercent: Int
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: String, name: String, scope: BudgetScope, period: BudgetPeriod, timeZone: String = "UTC", unit: BudgetUnit,
        limit: Int64, enforcement: BudgetEnforcement = .hard, whenExhausted: BudgetExhaustion = .reject,
        alertThresholds: [Int] = [50, 80, 100], createdAt: Date = Date(), updatedAt: Date = Date(),
        downgradeTo: String? = nil, downgradeAtPercent: Int = 80
    ) {
        self.id = id
        self.name = name
        self.scope = scope
        self.period = period
        self.timeZone = timeZone
        self.unit = unit
        self.limit = limit
        self.enforcement = enforcement
        self.whenExhausted = whenExhausted
        self.alertThresholds = alertThresholds
        self.downgradeTo = downgradeTo
        self.downgradeAtPercent = downgradeAtPercent
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// What decides which requests a budget's counter holds: when any of it changes, the
    /// spend is counted again from the ledger.
    public var countingKey: String { "\(scope.text)|\(period.text)|\(timeZone)|\(unit.rawValue)" }

    /// The amount in the budget's unit, as people read it: `$12.50` or `1,200,000 tokens`.
    public func format(_ amount: Int64) -> String {
        switch unit {
        case .usd: return NanoUSD(amount).description
        case .tokens: return "\(amount) tokens"
        }
    }

    /// Whether `amount` is at least `percent` % of the limit, exactly (no overflow, no rounding).
    public func reaches(_ percent: Int, with amount: Int64) -> Bool {
        Int128(amount) * 100 >= Int128(limit) * Int128(percent)
    }

    /// Checks what the type system cannot: a known time zone, a positive limit, sane
    /// thresholds. Returns the problems, in words a user can act on.
    public func problems() -> [String] {
        var problems: [String] = []
        if name.isEmpty { problems.append("name must not be empty") }
        if TimeZone(identifier: timeZone) == nil { problems.append("time_zone '\(timeZone)' is not a known IANA zone (e.g. UTC, Europe/Paris)") }
        if limit <= 0 { problems.append("limit must be greater than zero") }
        if let problem = unit == .usd ? Bounds.moneyProblem(limit, field: "the limit") : Bounds.tokensProblem(limit, field: "the limit") {
            problems.append(problem)
        }
        if scope.value.isEmpty { problems.append("scope needs a value, e.g. team:platform") }
        if case .rolling(let days) = period, days < 1 || days > 366 { problems.append("a rolling period is 1 to 366 days") }
        if downgradeAtPercent < 1 || downgradeAtPercent > 100 { problems.append("downgrade_at \(downgradeAtPercent)% must be between 1 and 100") }
        if let downgradeTo, downgradeTo.isEmpty { problems.append("downgrade_to must name a model") }
        for threshold in alertThresholds where threshold < 1 || threshold > 1_000 {
            problems.append("alert threshold \(threshold)% must be between 1 and 1000")
        }
        return problems
    }
}

/// Who a budget applies to: one value of one attribution dimension.
public struct BudgetScope: Sendable, Codable, Hashable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        case organization, team, member, key, workflow, environment
    }

    public var kind: Kind
    public var value: String

    public init(kind: Kind, value: String) {
        self.kind = kind
        self.value = value
    }

    /// `team:platform`, `member:ana`, `key:key_…`, `environment:personal`, `organization:acme`.
    public init?(text: String) {
        guard let colon = text.firstIndex(of: ":") else { return nil }
        let name = text[..<colon].lowercased()
        let kind = name == "org" ? Kind.organization : Kind(rawValue: name)
        guard let kind else { return nil }
        let value = String(text[text.index(after: colon)...])
        // Values are names of teams, members, keys and workflows: printable and short.
        guard !value.isEmpty, value.utf8.count <= Self.maxValueBytes,
            !value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
        else { return nil }
        if kind == .environment, Environment(rawValue: value) == nil { return nil }
        self.init(kind: kind, value: value)
    }

    public var text: String { "\(kind.rawValue):\(value)" }

    /// The longest value a scope may name, in bytes (attribution headers are cut at 256 too).
    public static let maxValueBytes = 256

    /// What is wrong with scope text that does not parse.
    public static func problem(_ text: String) -> String {
        "scope '\(JSONText.printable(text.prefix(300)))' must be kind:value with kind one of \(Kind.allCases.map(\.rawValue).joined(separator: ", ")) (environment values: production, sandbox, personal) and a printable value of at most 256 bytes, e.g. team:platform"
    }

    /// The scope value a request's attribution has for this kind, if any.
    public static func value(of kind: Kind, in attribution: Attribution) -> String? {
        switch kind {
        case .organization: return attribution.organization
        case .team: return attribution.team
        case .member: return attribution.member
        case .key: return attribution.keyID
        case .workflow: return attribution.workflow
        case .environment: return attribution.environment.rawValue
        }
    }

    public func matches(_ attribution: Attribution) -> Bool {
        Self.value(of: kind, in: attribution) == value
    }
}

public enum BudgetUnit: String, Sendable, Codable, CaseIterable {
    case usd, tokens
}

public enum BudgetEnforcement: String, Sendable, Codable, CaseIterable {
    /// Requests the budget cannot cover are capped or refused.
    case hard
    /// Only alerts: requests always pass.
    case soft
}

public enum BudgetExhaustion: String, Sendable, Codable, CaseIterable {
    /// Refuse a request whose estimate does not fit.
    case reject
    /// Lower the request's maximum output tokens to what the budget still affords; refuse
    /// only when not even a small answer fits.
    case cap
}

/// How long a budget's spend accumulates before it starts again.
public enum BudgetPeriod: Sendable, Hashable, Codable {
    case day, week, month, total
    /// The last N days, moving by the hour.
    case rolling(days: Int)

    /// `day`, `week`, `month`, `total`, `rolling:7d` (also `7d`).
    public init?(text: String) {
        let lower = text.lowercased()
        switch lower {
        case "day", "daily": self = .day
        case "week", "weekly": self = .week
        case "month", "monthly": self = .month
        case "total", "lifetime": self = .total
        default:
            var rest = Substring(lower)
            if rest.hasPrefix("rolling:") { rest = rest.dropFirst(8) }
            guard rest.hasSuffix("d"), let days = Int(rest.dropLast()), days > 0 else { return nil }
            self = .rolling(days: days)
        }
    }

    public var text: String {
        switch self {
        case .day: "day"
        case .week: "week"
        case .month: "month"
        case .total: "total"
        case .rolling(let days): "rolling:\(days)d"
        }
    }

    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let period = BudgetPeriod(text: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "unknown period '\(text)'"))
        }
        self = period
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(text)
    }

    /// The window holding `date`. Calendar periods start at midnight in `timeZone` (weeks
    /// on Monday); a rolling window is the N days up to the end of the current hour, so
    /// its spend can be kept in hourly buckets; `total` has no end.
    public func window(containing date: Date, timeZone: TimeZone) -> BudgetWindow {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        calendar.firstWeekday = 2
        calendar.minimumDaysInFirstWeek = 4
        switch self {
        case .total:
            return BudgetWindow(start: Date(timeIntervalSince1970: 0), end: nil, rolling: false)
        case .rolling(let days):
            let hour = (date.timeIntervalSince1970 / 3_600).rounded(.down) * 3_600
            let end = Date(timeIntervalSince1970: hour + 3_600)
            return BudgetWindow(start: end.addingTimeInterval(-Double(days) * 86_400), end: end, rolling: true)
        case .day, .week, .month:
            let component: Calendar.Component = self == .day ? .day : self == .week ? .weekOfYear : .month
            guard let interval = calendar.dateInterval(of: component, for: date) else {
                return BudgetWindow(start: date, end: date.addingTimeInterval(86_400), rolling: false)
            }
            return BudgetWindow(start: interval.start, end: interval.end, rolling: false)
        }
    }
}

/// One period of a budget: spend inside it counts, and it ends (resets) at `end`.
public struct BudgetWindow: Sendable, Hashable {
    public var start: Date
    /// Nil for `total`, which never resets.
    public var end: Date?
    /// A rolling window moves instead of resetting; its `end` is when the oldest hour drops out.
    public var rolling: Bool

    public init(start: Date, end: Date?, rolling: Bool) {
        self.start = start
        self.end = end
        self.rolling = rolling
    }

    /// Whether `date` falls in this same window: within it for a calendar period (or after
    /// its start for `total`), within its last hour for a rolling one, which moves hourly.
    public func isCurrent(at date: Date) -> Bool {
        guard let end else { return date >= start }
        return date < end && date >= (rolling ? end.addingTimeInterval(-3_600) : start)
    }
}
