import Foundation

/// One period of a grant, as an account statement shows it.
public struct GrantPeriodLine: Sendable, Equatable {
    public var window: BudgetWindow
    public var allocated: Int64
    public var carriedIn: Int64
    /// Transfers in and out during the period.
    public var adjusted: Int64
    public var used: Int64
    /// For a closed period: what carried into the next one, and what lapsed.
    public var carriedOut: Int64?
    public var lapsed: Int64?

    public var available: Int64 { [allocated, carriedIn, adjusted].saturatingSum() }
    public var left: Int64 { available.saturatingSubtract(used) }
}

/// Where a grant stands at one instant: its periods so far, what is left, and what will
/// lapse next. Pure: the usage comes in as amounts per quarter-hour, so it can be computed
/// from the ledger, from a live counter, or in a test with an injected clock.
public struct GrantStatement: Sendable, Equatable {
    public enum State: String, Sendable {
        case pending, active, expired
    }

    public var grant: Grant
    public var at: Date
    public var state: State
    public var periods: [GrantPeriodLine]
    /// Held by requests in flight (only the gateway knows it).
    public var reserved: Int64 = 0

    /// The period `at` falls in, while the grant is active.
    public var current: GrantPeriodLine? { state == .active ? periods.last : nil }
    public var balance: Int64 { max(0, (current?.left ?? 0).saturatingSubtract(reserved)) }
    public var usedTotal: Int64 { periods.lazy.map(\.used).saturatingSum() }
    public var lapsedTotal: Int64 { periods.lazy.map { $0.lapsed ?? 0 }.saturatingSum() }

    /// What of the balance lapses next, and when: all of it at expiry, or at the end of the
    /// period what the rollover rule does not carry.
    public var expiring: (amount: Int64, at: Date)? {
        guard let current, balance > 0, let end = current.window.end else { return nil }
        if let expiresAt = grant.expiresAt, expiresAt <= end { return (balance, expiresAt) }
        let lapsing = balance.saturatingSubtract(max(0, min(balance, grant.carried(balance))))
        return lapsing > 0 ? (lapsing, end) : nil
    }

    /// When the current balance stops being usable at the latest, for using the grants
    /// whose money lapses soonest first (nil: never).
    public var fundsExpiry: Date? {
        guard let current else { return at }
        if grant.rollover == .full || grant.period == .once { return grant.expiresAt }
        return current.window.end
    }

    /// Quarter-hours since 1970: the grain of `usage`, fine enough for every time zone's
    /// day boundaries.
    public static func quarter(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 / 900).rounded(.down)) }

    /// The statement at `date` from `usage` (in the grant's unit, per quarter-hour).
    public init(grant: Grant, at date: Date, usage: [Int64: Int64]) {
        self.grant = grant
        self.at = date
        let windows = grant.windows(through: date)
        if date < grant.startsAt {
            state = .pending
        } else if let expiresAt = grant.expiresAt, date >= expiresAt {
            state = .expired
        } else {
            state = .active
        }
        var lines: [GrantPeriodLine] = []
        var carry: Int64 = 0
        // Windows are in order and do not overlap: one pass over the sorted quarters.
        let quarters = usage.sorted { $0.key < $1.key }
        var next = 0
        for (index, window) in windows.enumerated() {
            let first = Self.quarter(window.start)
            // Rounded up: an expiry inside a quarter keeps that quarter's usage.
            let end = window.end.map { Int64(($0.timeIntervalSince1970 / 900).rounded(.up)) } ?? Int64.max
            while next < quarters.count, quarters[next].key < first { next += 1 }
            var used: Int64 = 0
            while next < quarters.count, quarters[next].key < end {
                used = used.saturatingAdd(quarters[next].value)
                next += 1
            }
            let adjusted = grant.adjustments.reduce(Int64(0)) { total, adjustment in
                adjustment.at >= window.start && (window.end.map { adjustment.at < $0 } ?? true) ? total.saturatingAdd(adjustment.amount) : total
            }
            let allocated = grant.period == .once && index > 0 ? 0 : grant.amount
            var line = GrantPeriodLine(window: window, allocated: allocated, carriedIn: carry, adjusted: adjusted, used: used)
            let closed = window.end.map { $0 <= date } ?? false
            if closed {
                let left = line.left
                let isLast = index == windows.count - 1
                // At expiry nothing carries: it all lapses.
                carry = isLast && state == .expired ? 0 : grant.carried(left)
                line.carriedOut = carry
                line.lapsed = max(0, left.saturatingSubtract(max(carry, 0)))
            }
            lines.append(line)
        }
        periods = lines
    }

}

/// Moving part of a grant's balance to another member: the source grant gets a negative
/// adjustment now, and the receiver a one-time grant of the same unit and purpose that
/// lapses when the money would have lapsed for the giver.
public enum GrantTransfer {
    public static func make(
        from statement: GrantStatement, to member: String, amount: Int64, note: String?, id: String, now: Date
    ) throws(RuleProblems) -> (source: Grant, received: Grant) {
        var source = statement.grant
        var problems: [String] = []
        if member.isEmpty { problems.append("'to' must name the member who receives it") }
        if member == source.member { problems.append("a grant cannot be transferred to its own member") }
        if amount <= 0 { problems.append("the amount must be greater than zero") }
        if statement.state != .active { problems.append("grant '\(source.name)' is \(statement.state.rawValue): nothing to transfer") }
        if amount > statement.balance {
            problems.append("grant '\(source.name)' has \(source.format(statement.balance)) left to give, less than \(source.format(amount))")
        }
        if !problems.isEmpty { throw RuleProblems(problems) }
        let suffix = String(id.suffix(6))
        let name = "\(source.name.prefix(36))-to-\(member.prefix(16))-\(suffix)"
        let received = Grant(
            id: id, name: name.filter { $0.isLetter || $0.isNumber || "-_.".contains($0) }, member: member, unit: source.unit,
            amount: amount, period: .once, purpose: source.purpose, startsAt: now, expiresAt: statement.fundsExpiry,
            timeZone: source.timeZone, transferredFrom: source.id, createdAt: now, updatedAt: now
        )
        let words = note.map { ": \($0)" } ?? ""
        source.adjustments.append(GrantAdjustment(at: now, amount: -amount, note: "transfer to member:\(member) (grant \(id))\(words)"))
        source.updatedAt = now
        return (source, received)
    }
}
