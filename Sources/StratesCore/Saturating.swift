/// Arithmetic on token counts and nano-USD that cannot trap.
///
/// Swift traps on `Int64` overflow, and the numbers the controls add up come from outside:
/// a client's `max_tokens`, an upstream's usage, an admin's grant. Every bound at the edge
/// keeps real values far from Int64's ends (see `Bounds`), and this is what keeps a value
/// that got past one from taking the process down: sums, differences and products pinned
/// to `Int64.min ... Int64.max` instead. Rate limits, budgets, grants, reserves, runaway
/// limits, rollups and statements all count with it.
extension Int64 {
    /// `self + other`, pinned to Int64's range.
    @inlinable
    public func saturatingAdd(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        guard overflow else { return sum }
        return other > 0 ? .max : .min
    }

    /// `self - other`, pinned to Int64's range.
    @inlinable
    public func saturatingSubtract(_ other: Int64) -> Int64 {
        let (difference, overflow) = subtractingReportingOverflow(other)
        guard overflow else { return difference }
        return other < 0 ? .max : .min
    }

    /// `self * other`, pinned to Int64's range.
    @inlinable
    public func saturatingMultiply(_ other: Int64) -> Int64 {
        let (product, overflow) = multipliedReportingOverflow(by: other)
        guard overflow else { return product }
        return (self < 0) == (other < 0) ? .max : .min
    }

    /// `self` brought into `range`.
    @inlinable
    public func clamped(to range: ClosedRange<Int64>) -> Int64 {
        Swift.min(Swift.max(self, range.lowerBound), range.upperBound)
    }
}

extension Sequence where Element == Int64 {
    /// The sum of the elements, pinned to Int64's range at every step.
    @inlinable
    public func saturatingSum() -> Int64 {
        reduce(0) { $0.saturatingAdd($1) }
    }
}

extension Int64 {
    /// `value` rounded toward zero and pinned to Int64's range (NaN is 0), where
    /// `Int64(value)` would trap.
    @inlinable
    public init(saturating value: Double) {
        if value.isNaN {
            self = 0
        } else if value >= 9_223_372_036_854_775_807 {
            self = .max
        } else if value <= -9_223_372_036_854_775_808 {
            self = .min
        } else {
            self = Int64(value)
        }
    }
}
