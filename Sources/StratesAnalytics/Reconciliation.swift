import Foundation
import StratesCore
import StratesLedger

/// `strates reconcile`: the ledger against a provider's own usage or cost export, per UTC day
/// and model, with every difference above the threshold and its likely causes. Metered cost
/// must match the invoice; where it does not, this says where to look.
public struct Reconciliation: Sendable {
    public enum Measure: String, Sendable {
        case tokens, cost
    }

    /// One day and model, as both sides count it.
    public struct Line: Sendable, Equatable {
        public var day: Date
        public var model: String
        public var ledgerRequests: Int64 = 0
        public var estimatedRequests: Int64 = 0
        public var unpricedRequests: Int64 = 0
        public var ledgerUsage = Usage()
        public var ledgerCost = NanoUSD.zero
        public var exportUsage: Usage?
        public var exportCost: NanoUSD?
        public var exportRequests: Int64?
        /// Set when the difference is above the threshold.
        public var causes: [String] = []

        public var flagged: Bool { !causes.isEmpty }
    }

    public var provider: String
    public var measure: Measure
    public var thresholdPercent: Double
    public var lines: [Line]

    /// `ledger`: usage rows grouped by day (`YYYY-MM-DD`) and model for the provider. Days
    /// outside the export's are left out; models are matched without their date suffix
    /// (`claude-sonnet-4-5-20250929` is `claude-sonnet-4-5`).
    public static func make(provider: String, export: [ExportRow], ledger: [UsageRow], measure: Measure, thresholdPercent: Double) -> Reconciliation {
        var lines: [String: Line] = [:]
        let days = Set(export.map(\.day))
        for row in export {
            let key = "\(Int(row.day.timeIntervalSince1970))|\(canonical(row.model))"
            var line = lines[key] ?? Line(day: row.day, model: canonical(row.model))
            if let usage = row.usage { line.exportUsage = (line.exportUsage ?? Usage()) + usage }
            if let cost = row.cost { line.exportCost = (line.exportCost ?? .zero) + cost }
            if let requests = row.requests { line.exportRequests = (line.exportRequests ?? 0) + requests }
            lines[key] = line
        }
        for row in ledger {
            guard let dayText = row.group[UsageDimension.day.rawValue], let day = UsageReport.parseDay(dayText), days.contains(day) else { continue }
            let model = canonical(row.group[UsageDimension.model.rawValue] ?? "")
            let key = "\(Int(day.timeIntervalSince1970))|\(model)"
            var line = lines[key] ?? Line(day: day, model: model)
            line.ledgerRequests += row.requests
            line.estimatedRequests += row.estimatedRequests
            line.unpricedRequests += row.unknownCostRequests
            line.ledgerUsage = line.ledgerUsage + row.usage
            line.ledgerCost = line.ledgerCost + row.cost
            lines[key] = line
        }
        let ordered = lines.values.map { line in
            var line = line
            line.causes = causes(of: line, provider: provider, measure: measure, thresholdPercent: thresholdPercent)
            return line
        }.sorted { ($0.day, $0.model) < ($1.day, $1.model) }
        return Reconciliation(provider: provider, measure: measure, thresholdPercent: thresholdPercent, lines: ordered)
    }

    /// `claude-sonnet-4-5-20250929` → `claude-sonnet-4-5`; `gpt-4o-2024-08-06` → `gpt-4o`.
    public static func canonical(_ model: String) -> String {
        let parts = model.split(separator: "-", omittingEmptySubsequences: false)
        if parts.count > 1, let last = parts.last, last.count == 8, last.allSatisfy(\.isNumber) {
            return parts.dropLast().joined(separator: "-")
        }
        if parts.count > 3, parts.suffix(3).map(\.count) == [4, 2, 2], parts.suffix(3).allSatisfy({ $0.allSatisfy(\.isNumber) }) {
            return parts.dropLast(3).joined(separator: "-")
        }
        return model
    }

    /// Differences below both `thresholdPercent` of the larger side and a floor (1,000 tokens,
    /// or one cent) are rounding and timing, not findings.
    static func causes(of line: Line, provider: String, measure: Measure, thresholdPercent: Double) -> [String] {
        let (ours, theirs, floor): (Int64, Int64, Int64) =
            switch measure {
            case .tokens: (line.ledgerUsage.total, line.exportUsage?.total ?? 0, 1_000)
            case .cost: (line.ledgerCost.value, line.exportCost?.value ?? 0, 10_000_000)
            }
        let gap = theirs - ours
        let kindsDiffer = measure == .tokens && line.exportUsage.map { kindGaps(line.ledgerUsage, $0).contains { abs($0.1) >= floor } } ?? false
        let significant = abs(gap) >= floor && Double(abs(gap)) > Double(max(ours, theirs)) * thresholdPercent / 100
        // Requests without a price hide their cost: a cost comparison cannot vouch for them.
        let unpriced = measure == .cost && line.unpricedRequests > 0
        guard significant || kindsDiffer || unpriced else { return [] }
        var causes: [String] = []
        let amount = measure == .tokens ? "\(abs(gap)) tokens" : NanoUSD(abs(gap)).description
        if gap > 0 && significant {
            causes.append(
                line.ledgerRequests == 0
                    ? "unmetered traffic: \(provider) counted \(amount) of \(line.model) that day and none went through Strates (calls with the provider's key from elsewhere: scripts, other tools, the console)"
                    : "unmetered traffic: \(provider) counted \(amount) more than Strates saw (calls with the provider's key that bypass Strates, or another workspace of the same account)"
            )
        } else if gap < 0 && significant {
            var reasons = ["the export covers fewer keys or workspaces than the traffic Strates sent (filters, or a second account)"]
            if line.estimatedRequests > 0 {
                reasons.insert(
                    "\(line.estimatedRequests) request(s) metered from their size because the provider's usage never arrived (cut or failed streams): the provider may have billed less",
                    at: 0)
            }
            causes.append("Strates counted \(amount) more than \(provider): " + reasons.joined(separator: "; or "))
        }
        if measure == .cost {
            if unpriced {
                causes.append(
                    "\(line.unpricedRequests) request(s) of \(line.model) have no price in Strates' catalog, so their cost is missing: add it with `strates prices`"
                )
            } else if line.ledgerRequests > 0 && significant {
                causes.append(
                    "price catalog drift: check Strates' price for \(line.model) and the provider discount against what was billed (`strates prices list`); a tier (batch, priority) or long-context rate also changes the price"
                )
            }
        }
        if kindsDiffer, let export = line.exportUsage {
            let detail = kindGaps(line.ledgerUsage, export).filter { $0.1 != 0 }.map { "\($0.0) \($0.1 > 0 ? "+" : "")\($0.1)" }.joined(separator: ", ")
            causes.append(
                "cache pricing: the token kinds differ (provider minus Strates: \(detail)); cache writes priced as 5-minute instead of 1-hour (or reads as fresh input) change the cost even when the totals agree"
            )
        }
        return causes
    }

    /// Provider minus ledger, per token kind.
    static func kindGaps(_ ours: Usage, _ theirs: Usage) -> [(String, Int64)] {
        [
            ("input", theirs.input - ours.input), ("output", theirs.output - ours.output), ("cache read", theirs.cacheRead - ours.cacheRead),
            ("cache write 5m", theirs.cacheWrite5m - ours.cacheWrite5m), ("cache write 1h", theirs.cacheWrite1h - ours.cacheWrite1h),
        ]
    }

    public var differences: Int { lines.filter(\.flagged).count }

    public var table: [[String]] {
        var rows = [
            [
                "day", "model", "requests", measure == .tokens ? "Strates tokens" : "Strates cost", measure == .tokens ? "provider tokens" : "provider cost",
                "difference", "",
            ]
        ]
        for line in lines {
            let (ours, theirs): (String, String) =
                switch measure {
                case .tokens: (String(line.ledgerUsage.total), line.exportUsage.map { String($0.total) } ?? "-")
                case .cost: (line.ledgerCost.description, line.exportCost?.description ?? "-")
                }
            let gap: String =
                switch measure {
                case .tokens: String((line.exportUsage?.total ?? 0) - line.ledgerUsage.total)
                case .cost: NanoUSD((line.exportCost?.value ?? 0) - line.ledgerCost.value).description
                }
            rows.append([UsageReport.dayText(line.day), line.model, String(line.ledgerRequests), ours, theirs, gap, line.flagged ? "DIFFERS" : "ok"])
        }
        return rows
    }
}

/// A provider's own count of usage or cost for one UTC day and model (from its admin API's
/// usage or cost export), as reconciliation compares it with the ledger.
public struct ExportRow: Sendable, Equatable {
    /// Midnight UTC of the day.
    public var day: Date
    /// Empty when the export is not grouped by model.
    public var model: String
    public var usage: Usage?
    public var requests: Int64?
    public var cost: NanoUSD?

    public init(day: Date, model: String, usage: Usage? = nil, requests: Int64? = nil, cost: NanoUSD? = nil) {
        self.day = day
        self.model = model
        self.usage = usage
        self.requests = requests
        self.cost = cost
    }
}
