import Foundation

/// The fields a user sets on a budget, from the CLI's flags or the admin API's JSON; what
/// is left nil keeps its current value (or its default, for a new budget).
public struct BudgetChanges: Sendable, Equatable {
    public var name: String?
    public var scope: String?
    public var period: String?
    public var timeZone: String?
    public var unit: String?
    /// Dollars as decimal text, e.g. "50" or "12.5".
    public var limitUSD: String?
    public var limitTokens: Int64?
    public var enforcement: String?
    public var whenExhausted: String?
    public var alertThresholds: [Int]?
    /// A model name; "" (or JSON null, or `none` on the CLI) removes the downgrade.
    public var downgradeTo: String?
    public var downgradeAtPercent: Int?

    public init() {}

    /// Reads the admin API's JSON object; problems name the field.
    public init(json: [String: Any]) throws(BudgetProblems) {
        var problems: [String] = []
        func text(_ key: String) -> String? {
            guard let value = json[key], !(value is NSNull) else { return nil }
            if let string = value as? String { return string }
            problems.append("'\(key)' must be a string")
            return nil
        }
        let known: Set<String> = [
            "name", "scope", "period", "time_zone", "unit", "limit_usd", "limit_tokens", "enforcement", "when_exhausted", "alert_thresholds", "downgrade_to",
            "downgrade_at",
        ]
        for key in json.keys.sorted() where !known.contains(key) {
            problems.append("unknown field '\(key)' (expected: \(known.sorted().joined(separator: ", ")))")
        }
        name = text("name")
        scope = text("scope")
        period = text("period")
        timeZone = text("time_zone")
        unit = text("unit")
        enforcement = text("enforcement")
        whenExhausted = text("when_exhausted")
        if let value = json["downgrade_to"] {
            if value is NSNull { downgradeTo = "" } else { downgradeTo = text("downgrade_to") }
        }
        if let value = json["downgrade_at"], !(value is NSNull) {
            if let number = RuleFields.number(value), let whole = Int(exactly: number.doubleValue) {
                downgradeAtPercent = whole
            } else {
                problems.append("'downgrade_at' must be a whole percentage, e.g. 80")
            }
        }
        if let value = json["limit_usd"], !(value is NSNull) {
            if let string = value as? String {
                limitUSD = string
            } else if let number = RuleFields.number(value) {
                limitUSD = number.stringValue
            } else {
                problems.append("'limit_usd' must be a number of dollars, e.g. \"50\" or 12.5")
            }
        }
        if let value = json["limit_tokens"], !(value is NSNull) {
            if let number = RuleFields.number(value), let whole = Int64(exactly: number.doubleValue) {
                limitTokens = whole
            } else {
                problems.append("'limit_tokens' must be a whole number of tokens")
            }
        }
        if let value = json["alert_thresholds"], !(value is NSNull) {
            let numbers = (value as? [Any])?.compactMap(RuleFields.number)
            if let numbers, numbers.count == (value as? [Any])?.count, numbers.allSatisfy({ Int(exactly: $0.doubleValue) != nil }) {
                alertThresholds = numbers.map { $0.intValue }
            } else {
                problems.append("'alert_thresholds' must be a list of percentages, e.g. [50, 80, 100]")
            }
        }
        if !problems.isEmpty { throw BudgetProblems(problems) }
    }

    /// The budget these changes make of `current` (or of a new budget with `id`), checked.
    public func apply(to current: Budget?, id: String, now: Date) throws(BudgetProblems) -> Budget {
        var problems: [String] = []
        var scopeValue = current?.scope
        if let scope {
            scopeValue = BudgetScope(text: scope)
            if scopeValue == nil {
                problems.append(BudgetScope.problem(scope))
            }
        } else if current == nil {
            problems.append("scope is required, e.g. team:platform or member:ana")
        }
        var periodValue = current?.period ?? .month
        if let period {
            if let parsed = BudgetPeriod(text: period) {
                periodValue = parsed
            } else {
                problems.append("period '\(period)' must be day, week, month, total or rolling:Nd (e.g. rolling:7d)")
            }
        }
        var unitValue = current?.unit
        if let unit {
            unitValue = BudgetUnit(rawValue: unit.lowercased())
            if unitValue == nil { problems.append("unit '\(unit)' must be usd or tokens") }
        }
        var limit = current?.limit
        if limitUSD != nil && limitTokens != nil {
            problems.append("give limit_usd or limit_tokens, not both")
        } else if let limitUSD {
            if let nano = DecimalText.scaled(limitUSD, decimals: 9) {
                limit = nano
            } else {
                problems.append("limit_usd '\(limitUSD)' is not a positive amount of dollars (e.g. 50 or 12.50)")
            }
            if unit == nil { unitValue = .usd }
        } else if let limitTokens {
            limit = limitTokens
            if unit == nil { unitValue = .tokens }
        }
        if let current, limitUSD == nil, limitTokens == nil, let unitValue, unitValue != current.unit {
            problems.append("changing the unit needs a new limit (limit_usd or limit_tokens)")
        }
        if let unitValue, (unitValue == .usd && limitTokens != nil) || (unitValue == .tokens && limitUSD != nil) {
            problems.append("a \(unitValue.rawValue) budget takes \(unitValue == .usd ? "limit_usd" : "limit_tokens")")
        }
        if limit == nil && limitUSD == nil { problems.append("a limit is required: limit_usd (dollars) or limit_tokens") }
        var enforcementValue = current?.enforcement ?? .hard
        if let enforcement {
            if let parsed = BudgetEnforcement(rawValue: enforcement.lowercased()) {
                enforcementValue = parsed
            } else {
                problems.append("enforcement '\(enforcement)' must be hard or soft")
            }
        }
        var exhaustion = current?.whenExhausted ?? .reject
        if let whenExhausted {
            if let parsed = BudgetExhaustion(rawValue: whenExhausted.lowercased()) {
                exhaustion = parsed
            } else {
                problems.append("when_exhausted '\(whenExhausted)' must be reject or cap")
            }
        }
        let budgetName = name ?? current?.name ?? scopeValue.map { RuleName.sanitized("\($0.kind.rawValue)-\($0.value)-\(periodValue.text)") } ?? ""
        // A name set now is checked; one kept from before this check existed stays usable.
        if budgetName != current?.name, let problem = RuleName.problem(budgetName) { problems.append(problem) }
        guard problems.isEmpty, let scopeValue, let unitValue, let limit else { throw BudgetProblems(problems) }
        let budget = Budget(
            id: id, name: budgetName, scope: scopeValue, period: periodValue, timeZone: timeZone ?? current?.timeZone ?? "UTC",
            unit: unitValue, limit: limit, enforcement: enforcementValue, whenExhausted: exhaustion,
            alertThresholds: alertThresholds ?? current?.alertThresholds ?? [50, 80, 100],
            createdAt: current?.createdAt ?? now, updatedAt: now,
            downgradeTo: downgradeTo.map { $0.isEmpty || $0.lowercased() == "none" ? nil : $0 } ?? current?.downgradeTo,
            downgradeAtPercent: downgradeAtPercent ?? current?.downgradeAtPercent ?? 80
        )
        let checked = budget.problems()
        if !checked.isEmpty { throw BudgetProblems(checked) }
        return budget
    }
}
