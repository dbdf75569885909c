import Foundation

/// What a request asks of the budgets that cover it, before it runs: its input estimate,
/// the most output it may produce, and what that would cost.
public struct BudgetDemand: Sendable {
    public var inputTokens: Int64
    /// The request's own maximum output tokens, or the configured default when it set none.
    public var outputTokens: Int64
    /// Whether Strates may lower the request's maximum output tokens.
    public var canCap: Bool
    /// The cost of the request if it produced `n` output tokens; nil when no price is known.
    public var cost: @Sendable (_ outputTokens: Int64) -> NanoUSD?

    public init(inputTokens: Int64, outputTokens: Int64, canCap: Bool, cost: @escaping @Sendable (Int64) -> NanoUSD?) {
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.canCap = canCap
        self.cost = cost
    }

    /// What the request would take from a budget of `unit` at `n` output tokens.
    public func amount(_ unit: BudgetUnit, outputTokens n: Int64) -> Int64? {
        switch unit {
        case .tokens: return inputTokens.saturatingAdd(n)
        case .usd: return cost(n)?.value
        }
    }
}

/// A budget in its current window: what is spent (settled) and reserved (in flight).
public struct BudgetStanding: Sendable, Equatable {
    public var budget: Budget
    public var window: BudgetWindow
    public var spent: Int64
    public var reserved: Int64

    public init(budget: Budget, window: BudgetWindow, spent: Int64, reserved: Int64) {
        self.budget = budget
        self.window = window
        self.spent = spent
        self.reserved = reserved
    }

    public var remaining: Int64 { budget.limit.saturatingSubtract(spent).saturatingSubtract(reserved) }
}

/// Why a budget refused a request, with what the error message needs.
public struct BudgetRefusal: Sendable, Equatable {
    public enum Reason: Sendable, Equatable {
        /// The estimate does not fit in what is left.
        case exhausted(needed: Int64)
        /// A hard USD budget cannot admit a model without a known price.
        case unpriced
    }

    public var standing: BudgetStanding
    public var reason: Reason
}

public enum BudgetVerdict: Sendable, Equatable {
    /// Admitted. `outputCap` is set when the request's maximum output tokens must be
    /// lowered to fit; `charges` are what each standing (same order) reserves.
    case admit(outputCap: Int64?, charges: [Int64])
    case refuse(BudgetRefusal)
}

/// The reservation rule. A request is admitted when, for every hard budget covering it,
/// spent + reserved + its estimate (input estimate plus maximum output) fits in the limit;
/// a `cap` budget first lowers the maximum output to what fits. Soft budgets reserve too
/// (so their alerts see in-flight spend) but never refuse.
public enum BudgetDecision {
    /// A capped answer shorter than this is not worth sending: the request is refused instead.
    public static let smallestCap: Int64 = 16

    public static func decide(_ demand: BudgetDemand, standings: [BudgetStanding]) -> BudgetVerdict {
        var output = demand.outputTokens
        var capped = false
        for standing in standings where standing.budget.enforcement == .hard {
            let unit = standing.budget.unit
            guard let need = demand.amount(unit, outputTokens: output) else {
                return .refuse(BudgetRefusal(standing: standing, reason: .unpriced))
            }
            if need <= standing.remaining { continue }
            guard standing.budget.whenExhausted == .cap, demand.canCap,
                let fitting = largestFitting(demand, unit: unit, room: standing.remaining, upTo: output),
                fitting >= min(smallestCap, output)
            else {
                return .refuse(BudgetRefusal(standing: standing, reason: .exhausted(needed: need)))
            }
            // Budgets already checked still fit: every amount grows with the output.
            output = fitting
            capped = true
        }
        let charges = standings.map { demand.amount($0.budget.unit, outputTokens: output) ?? 0 }
        return .admit(outputCap: capped ? output : nil, charges: charges)
    }

    /// The most output tokens (≤ `upTo`) whose amount fits in `room`; nil when even none fits.
    static func largestFitting(_ demand: BudgetDemand, unit: BudgetUnit, room: Int64, upTo: Int64) -> Int64? {
        guard let none = demand.amount(unit, outputTokens: 0), none <= room else { return nil }
        var low: Int64 = 0
        var high = upTo
        while low < high {
            // The upper middle, without `high - low + 1`, which overflows when high is Int64.max.
            let middle = low + (high - low) / 2 + (high - low) % 2
            if let amount = demand.amount(unit, outputTokens: middle), amount <= room {
                low = middle
            } else {
                high = middle - 1
            }
        }
        return low
    }
}
