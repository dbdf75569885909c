import Foundation
import StratesCore
import StratesLedger

/// Usage rows for people: the table, the columns and the totals (JSON and CSV are written by
/// the API layer, `UsageReportBody`), and the parsing of report windows.
public enum UsageReport {
    public enum Format: String, CaseIterable, Sendable {
        case table, json, csv
    }

    public static let tokenColumns = [
        "requests", "input", "cache_read", "cache_write_5m", "cache_write_1h", "output", "reasoning", "cost_usd", "unknown_cost", "estimated", "failed",
    ]

    public static func values(_ row: UsageRow) -> [String] {
        [
            String(row.requests), String(row.usage.input), String(row.usage.cacheRead), String(row.usage.cacheWrite5m),
            String(row.usage.cacheWrite1h), String(row.usage.output), String(row.usage.reasoning), row.cost.dollars,
            String(row.unknownCostRequests), String(row.estimatedRequests), String(row.failedRequests),
        ]
    }

    public static func total(_ rows: [UsageRow]) -> UsageRow {
        rows.reduce(UsageRow(group: [:], requests: 0, usage: .zero, cost: .zero, unknownCostRequests: 0, estimatedRequests: 0, failedRequests: 0)) { sum, row in
            UsageRow(
                group: [:], requests: sum.requests + row.requests, usage: sum.usage + row.usage, cost: sum.cost + row.cost,
                unknownCostRequests: sum.unknownCostRequests + row.unknownCostRequests,
                estimatedRequests: sum.estimatedRequests + row.estimatedRequests, failedRequests: sum.failedRequests + row.failedRequests
            )
        }
    }

    /// The table people read: a row per group, a rule, then the total.
    public static func table(_ rows: [UsageRow], groupBy: [UsageDimension]) -> String {
        let groupColumns = groupBy.map(\.rawValue)
        var table = [groupColumns + tokenColumns]
        for row in rows { table.append(groupColumns.map { row.group[$0] ?? "" } + values(row)) }
        let total = total(rows)
        table.append((groupColumns.isEmpty ? [] : ["TOTAL"] + Array(repeating: "", count: groupColumns.count - 1)) + values(total))
        let widths = (0..<table[0].count).map { column in table.map { $0[column].count }.max() ?? 0 }
        var out = ""
        for (index, line) in table.enumerated() {
            if index == table.count - 1 { out += widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ") + "\n" }
            out +=
                line.enumerated().map { column, cell in
                    column < groupColumns.count
                        ? cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
                        : String(repeating: " ", count: widths[column] - cell.count) + cell
                }.joined(separator: "  ") + "\n"
        }
        if total.unknownCostRequests > 0 {
            out +=
                "\n\(total.unknownCostRequests) request(s) have no known price: their tokens are counted, their cost is not. Add prices with 'strates prices import'.\n"
        }
        return out
    }

    /// Parses `7d`, `24h`, `30m`, or an ISO date (`2026-11-01`) into the start of a window.
    public static func parseSince(_ text: String, now: Date = Date()) -> Date? {
        if let unit = text.last, let amount = Int(text.dropLast()), amount >= 0 {
            switch unit {
            case "d": return now.addingTimeInterval(-Double(amount) * 86_400)
            case "h": return now.addingTimeInterval(-Double(amount) * 3_600)
            case "m": return now.addingTimeInterval(-Double(amount) * 60)
            default: break
            }
        }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate]
        if let date = formatter.date(from: text) { return date }
        return ISO8601DateFormatter().date(from: text)
    }

    /// `2026-11-20` as midnight UTC, as the ledger's `day` groups are written.
    public static func parseDay(_ text: String) -> Date? {
        let parts = text.split(separator: "-").compactMap { Int($0) }
        guard parts.count == 3, text.count == 10 else { return nil }
        var components = DateComponents(year: parts[0], month: parts[1], day: parts[2])
        components.timeZone = TimeZone(identifier: "UTC")
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        guard let date = calendar.date(from: components), dayText(date) == text else { return nil }
        return date
    }

    /// Midnight UTC of `date`'s day as `2026-11-20`.
    public static func dayText(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d-%02d-%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0)
    }

    /// Parses `team,model` into dimensions; returns the names it did not know.
    public static func parseDimensions(_ text: String) -> (dimensions: [UsageDimension], unknown: [String]) {
        var dimensions: [UsageDimension] = []
        var unknown: [String] = []
        for part in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !part.isEmpty {
            if let dimension = UsageDimension(rawValue: part) { dimensions.append(dimension) } else { unknown.append(part) }
        }
        return (dimensions, unknown)
    }
}
