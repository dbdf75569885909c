import Foundation

/// An allowance given to one member: tokens or dollars per period (a monthly personal R&D
/// allowance, a benefit) or once (a project grant), with what happens to the unused part at
/// the end of a period, an optional expiry, and the transfers made from it. The member's
/// usage in the `personal` environment draws from their grants.
public struct Grant: ControlRule {
    public static let kind = "grant"
    public static let noun = "grant"
    public static let collection = "grants"
    public static let fields: Set<String> = [
        "name", "scope", "amount_usd", "amount_tokens", "period", "rollover", "rollover_cap", "purpose", "starts_at",
        "expires_at", "time_zone",
    ]

    public var id: String
    public var name: String
    /// Always `member:NAME`.
    public var scope: BudgetScope
    public var unit: BudgetUnit
    /// Nano-USD or tokens given each period (or once).
    public var amount: Int64
    public var period: GrantPeriod
    public var rollover: GrantRollover
    /// For `capped` rollover: the most that carries into the next period, in `unit`.
    public var rolloverCap: Int64?
    /// What the grant is for: `benefit` (personal use, reported for payroll), `project`, or
    /// any word an admin chooses.
    public var purpose: String
    public var startsAt: Date
    /// Nothing of the grant can be used from this instant on.
    public var expiresAt: Date?
    /// IANA zone in which days, weeks and months start.
    public var timeZone: String
    /// Amounts added or taken outside the period allocations (transfers), in `unit`.
    public var adjustments: [GrantAdjustment]
    /// The grant this one was transferred from, if it was.
    public var transferredFrom: String?
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: String, name: String, member: String, unit: BudgetUnit, amount: Int64, period: GrantPeriod = .month,
        rollover: GrantRollover = .none, rolloverCap: Int64? = nil, purpose: String = "benefit", startsAt: Date,
        expiresAt: Date? = nil, timeZone: String = "UTC", adjustments: [GrantAdjustment] = [], transferredFrom: String? = nil,
        createdAt: Date = Date(), updatedAt: Date = Date()
    ) {
        self.id = id
        self.name = name
        self.scope = BudgetScope(kind: .member, value: member)
        self.unit = unit
        self.amount = amount
        self.period = period
        self.rollover = rollover
        self.rolloverCap = rolloverCap
        self.purpose = purpose
        self.startsAt = startsAt
        self.expiresAt = expiresAt
        self.timeZone = timeZone
        self.adjustments = adjustments
        self.transferredFrom = transferredFrom
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    public var member: String { scope.value }

    public var zone: TimeZone { TimeZone(identifier: timeZone) ?? .gmt }

    public static func make(from fields: inout RuleFields, current: Grant?, id: String, now: Date) throws(RuleProblems) -> Grant {
        let scope = fields.scope(current: current?.scope)
        if let scope, scope.kind != .member { fields.problem("a grant's scope is one member, e.g. member:ana (not \(scope.text))") }
        let name = fields.text("name").applied(to: current?.name) ?? scope.map { "\($0.value)-allowance" } ?? ""
        if let problem = RuleName.problem(name) { fields.problem(problem) }
        let zoneName = fields.text("time_zone").applied(to: current?.timeZone) ?? "UTC"
        let zone = TimeZone(identifier: zoneName)
        if zone == nil { fields.problem("time_zone '\(zoneName)' is not a known IANA zone (e.g. UTC, Europe/Paris)") }

        var unit = current?.unit
        var amount = current?.amount
        let usd = fields.dollars("amount_usd")
        let tokens = fields.wholeNumber("amount_tokens")
        switch (usd, tokens) {
        case (.set, .set): fields.problem("set amount_usd or amount_tokens, not both")
        case (.set(let nano), _): (unit, amount) = (.usd, nano)
        case (_, .set(let count)): (unit, amount) = (.tokens, count)
        default: break
        }
        if amount == nil { fields.problem("amount_usd or amount_tokens is required, e.g. {\"amount_usd\": 50}") }
        if let amount, amount <= 0 { fields.problem("the amount must be greater than zero") }

        var period = current?.period ?? .month
        if case .set(let text) = fields.text("period") {
            if let parsed = GrantPeriod(rawValue: text.lowercased()) {
                period = parsed
            } else {
                fields.problem("period '\(text)' must be one of \(GrantPeriod.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }
        var rollover = current?.rollover ?? .none
        if case .set(let text) = fields.text("rollover") {
            if let parsed = GrantRollover(rawValue: text.lowercased()) {
                rollover = parsed
            } else {
                fields.problem("rollover '\(text)' must be one of \(GrantRollover.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }
        var rolloverCap = current?.rolloverCap
        let capChange = unit == .usd ? fields.dollars("rollover_cap") : fields.wholeNumber("rollover_cap", minimum: 0)
        rolloverCap = capChange.applied(to: rolloverCap)
        if rollover == .capped, rolloverCap == nil {
            fields.problem("rollover 'capped' needs rollover_cap: the most that carries over (dollars or tokens, as the amount)")
        }
        if rollover != .capped { rolloverCap = nil }

        let purpose = fields.text("purpose").applied(to: current?.purpose) ?? "benefit"
        if purpose.isEmpty || purpose.count > 64 { fields.problem("purpose must be 1 to 64 characters, e.g. benefit or project") }
        var startsAt = current?.startsAt
        var expiresAt = current?.expiresAt
        for (key, isStart) in [("starts_at", true), ("expires_at", false)] {
            switch fields.text(key) {
            case .keep: break
            case .clear: if isStart { startsAt = nil } else { expiresAt = nil }
            case .set(let text):
                guard let date = GrantDates.parse(text, timeZone: zone ?? .gmt) else {
                    fields.problem("\(key) '\(text)' must be a date (2026-12-01) or a time (2026-12-01T09:00:00Z)")
                    continue
                }
                if let problem = Bounds.dateProblem(date, field: key) {
                    fields.problem(problem)
                    continue
                }
                if isStart { startsAt = date } else { expiresAt = date }
            }
        }
        // A grant starts with the period it is created in, so this month's allowance is
        // there to use at once.
        let start = startsAt ?? period.window(containing: now, timeZone: zone ?? .gmt).start
        if let expiresAt, expiresAt <= start { fields.problem("expires_at must be after starts_at") }
        try fields.check()
        guard let scope, let unit, let amount else { throw RuleProblems(["scope and amount are required"]) }
        return Grant(
            id: id, name: name, member: scope.value, unit: unit, amount: amount, period: period, rollover: rollover,
            rolloverCap: rolloverCap, purpose: purpose, startsAt: start, expiresAt: expiresAt, timeZone: zoneName,
            adjustments: current?.adjustments ?? [], transferredFrom: current?.transferredFrom,
            createdAt: current?.createdAt ?? now, updatedAt: now
        )
    }

    /// The amount in the grant's unit, as people read it.
    public func format(_ amount: Int64) -> String {
        unit == .usd ? NanoUSD(amount).description : "\(amount) tokens"
    }

    /// What carries into the next period of `left` unused at the end of one. Overspend
    /// (a request that used more than its estimate) carries as debt unless rollover is none.
    public func carried(_ left: Int64) -> Int64 {
        switch rollover {
        case .none: 0
        case .full: left
        case .capped: min(left, rolloverCap ?? 0)
        }
    }

    /// The periods of the grant from its start up to the one holding `date`, each clipped
    /// to the grant's start and expiry.
    public func windows(through date: Date) -> [BudgetWindow] {
        guard date >= startsAt else { return [] }
        let last = min(date, expiresAt.map { $0.addingTimeInterval(-0.001) } ?? date)
        guard let calendarPeriod = period.calendarPeriod else {
            return [BudgetWindow(start: startsAt, end: expiresAt, rolling: false)]
        }
        var windows: [BudgetWindow] = []
        var cursor = startsAt
        while cursor <= last {
            var window = calendarPeriod.window(containing: cursor, timeZone: zone)
            window.start = max(window.start, startsAt)
            if let expiresAt, let end = window.end, end > expiresAt { window.end = expiresAt }
            windows.append(window)
            guard let end = window.end, end > cursor else { break }
            cursor = end
        }
        return windows
    }

    public var summary: String {
        var text = "\(scope.text): \(format(amount)) \(period == .once ? "once" : "per \(period.rawValue)"), \(purpose)"
        switch rollover {
        case .none: break
        case .full: text += ", unused rolls over"
        case .capped: text += ", up to \(format(rolloverCap ?? 0)) rolls over"
        }
        if let expiresAt { text += ", expires \(BudgetText.timestamp(expiresAt))" }
        return text
    }
}

public enum GrantPeriod: String, Sendable, Codable, CaseIterable {
    case day, week, month
    /// One allocation at the start, usable until the grant expires.
    case once

    var calendarPeriod: BudgetPeriod? {
        switch self {
        case .day: .day
        case .week: .week
        case .month: .month
        case .once: nil
        }
    }

    /// The calendar period holding `date` (for `once`, everything from then on).
    func window(containing date: Date, timeZone: TimeZone) -> BudgetWindow {
        (calendarPeriod ?? .total).window(containing: date, timeZone: timeZone)
    }
}

/// What happens to a period's unused allowance when the next period starts.
public enum GrantRollover: String, Sendable, Codable, CaseIterable {
    /// It lapses.
    case none
    /// Up to `rollover_cap` carries over; the rest lapses.
    case capped
    /// All of it carries over.
    case full
}

/// An amount added to or taken from a grant outside its allocations.
public struct GrantAdjustment: Sendable, Codable, Equatable {
    public var at: Date
    /// Signed, in the grant's unit.
    public var amount: Int64
    public var note: String

    public init(at: Date, amount: Int64, note: String) {
        self.at = at
        self.amount = amount
        self.note = note
    }
}

/// Dates as admins type them: a day (midnight in the grant's zone) or an RFC 3339 time.
public enum GrantDates {
    public static func parse(_ text: String, timeZone: TimeZone) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        let parts = text.split(separator: "-")
        guard parts.count == 3, let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]),
            parts[0].count == 4, (1...12).contains(month), (1...31).contains(day)
        else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let components = DateComponents(year: year, month: month, day: day)
        guard let date = calendar.date(from: components), calendar.component(.day, from: date) == day else { return nil }
        return date
    }
}
