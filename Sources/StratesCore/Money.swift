import Foundation

/// An amount of money in nano-USD (1e-9 USD). Money is never a `Double` in Strates.
public struct NanoUSD: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public var value: Int64

    public init(_ value: Int64) { self.value = value }

    public static let zero = NanoUSD(0)

    /// Sums pin at Int64's ends (see `Saturating`): a wrapped sum would turn a huge cost into a credit.
    public static func + (lhs: NanoUSD, rhs: NanoUSD) -> NanoUSD { NanoUSD(lhs.value.saturatingAdd(rhs.value)) }
    public static func += (lhs: inout NanoUSD, rhs: NanoUSD) { lhs.value = lhs.value.saturatingAdd(rhs.value) }
    public static func < (lhs: NanoUSD, rhs: NanoUSD) -> Bool { lhs.value < rhs.value }

    public init(from decoder: Decoder) throws {
        value = try decoder.singleValueContainer().decode(Int64.self)
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(value)
    }

    /// Dollars with six decimals, e.g. `0.001234`, computed with integers only.
    public var dollars: String {
        let negative = value < 0
        let magnitude = value.magnitude
        let micro = (magnitude + 500) / 1000
        let whole = micro / 1_000_000
        let fraction = String(micro % 1_000_000)
        let padded = String(repeating: "0", count: 6 - fraction.count) + fraction
        return (negative ? "-" : "") + "\(whole).\(padded)"
    }

    public var description: String { "$" + dollars }
}

/// A rate in nano-USD per million tokens: $3.00 / 1M tokens is `3_000_000_000`.
/// Per-million granularity keeps sub-nano per-token prices (e.g. $0.005 / 1M) exact.
public struct TokenRate: Hashable, Sendable, Codable, Comparable {
    public var nanoPerMillion: Int64

    public init(nanoPerMillion: Int64) { self.nanoPerMillion = nanoPerMillion }

    /// Builds a rate from a decimal dollars-per-million string such as "2.50" or "0.075";
    /// nil for anything else, or above `Bounds.rate`.
    public init?(dollarsPerMillion text: String) {
        guard let nano = DecimalText.scaled(text, decimals: 9), nano <= Bounds.rate else { return nil }
        nanoPerMillion = nano
    }

    public static func < (lhs: TokenRate, rhs: TokenRate) -> Bool { lhs.nanoPerMillion < rhs.nanoPerMillion }

    public init(from decoder: Decoder) throws {
        nanoPerMillion = try decoder.singleValueContainer().decode(Int64.self)
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(nanoPerMillion)
    }

    /// Scales by a ratio in basis points (10_000 = 1×), rounding half up.
    public func scaled(basisPoints: Int64) -> TokenRate {
        TokenRate(nanoPerMillion: Int64(clamping: (Int128(nanoPerMillion) * Int128(basisPoints) + 5_000) / 10_000))
    }
}

/// Exact decimal text → scaled integer conversion, so prices never pass through floating point.
public enum DecimalText {
    /// `scaled` for a value from parsed JSON or CSV (a string or a number) that may be
    /// negative (a credit): the sign kept, the magnitude rounded half up.
    public static func signedScaled(_ value: Any?, decimals: Int) -> Int64? {
        guard let text = (value as? String) ?? (value as? NSNumber)?.stringValue else { return nil }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.hasPrefix("-") else { return scaled(trimmed, decimals: decimals) }
        return scaled(String(trimmed.dropFirst()), decimals: decimals).map { -$0 }
    }

    /// `scaled("2.5", decimals: 9)` is 2_500_000_000. Accepts plain and exponent notation
    /// ("3e-06", "1.25E-7"). Digits beyond `decimals` are rounded half up. Returns nil on
    /// anything that is not a non-negative decimal number or that overflows.
    public static func scaled(_ text: String, decimals: Int) -> Int64? {
        var mantissa = Substring(text.trimmingCharacters(in: .whitespacesAndNewlines))
        var exponent = 0
        if let e = mantissa.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            guard let parsed = Int(mantissa[mantissa.index(after: e)...]) else { return nil }
            exponent = parsed
            mantissa = mantissa[..<e]
        }
        if mantissa.hasPrefix("+") { mantissa = mantissa.dropFirst() }
        guard !mantissa.isEmpty, !mantissa.hasPrefix("-") else { return nil }
        var digits: [UInt8] = []
        var fractionDigits = 0
        var seenPoint = false
        for ch in mantissa.utf8 {
            if ch == UInt8(ascii: ".") {
                if seenPoint { return nil }
                seenPoint = true
            } else if ch >= 48 && ch <= 57 {
                digits.append(ch - 48)
                if seenPoint { fractionDigits += 1 }
            } else {
                return nil
            }
        }
        guard !digits.isEmpty else { return nil }
        // value = digits × 10^(exponent - fractionDigits); we want value × 10^decimals.
        let shift = exponent - fractionDigits + decimals
        var result: Int64 = 0
        let kept = shift >= 0 ? digits.count : digits.count + shift
        if kept < 0 { return 0 }
        for d in digits.prefix(kept) {
            let (m, o1) = result.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(Int64(d))
            if o1 || o2 { return nil }
            result = a
        }
        if shift > 0 {
            for _ in 0..<shift {
                let (m, o) = result.multipliedReportingOverflow(by: 10)
                if o { return nil }
                result = m
            }
        } else if kept < digits.count, digits[kept] >= 5 {
            result += 1
        }
        return result
    }
}
