import Foundation
import StratesCore
import StratesLedger

/// Renders usage rows for people (table), programs (JSON) and spreadsheets (CSV).
public enum UsageReport {
    public enum Format: String, CaseIterable, Sendable {
        case table, json, csv
    }

    static let tokenColumns = [
        "requests", "input", "cache_read", "cache_write_5m", "cache_write_1h", "output", "reasoning", "cost_usd", "unknown_cost", "estimated", "failed",
    ]

    static func values(_ row: UsageRow) -> [String] {
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

    public static func render(_ rows: [UsageRow], groupBy: [UsageDimension], format: Format) -> String {
        let groupColumns = groupBy.map(\.rawValue)
        switch format {
        case .json:
            return json(rows, groupBy: groupBy)
        case .csv:
            var lines = [(groupColumns + tokenColumns).joined(separator: ",")]
            for row in rows {
                lines.append((groupColumns.map { CSVText.field(row.group[$0] ?? "") } + values(row)).joined(separator: ","))
            }
            return lines.joined(separator: "\n") + "\n"
        case .table:
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
    }

    public static func json(_ rows: [UsageRow], groupBy: [UsageDimension]) -> String {
        struct Output: Encodable {
            var groupBy: [String]
            var rows: [Row]
            var total: Row
            enum CodingKeys: String, CodingKey { case groupBy = "group_by", rows, total }
        }
        struct Row: Encodable {
            var group: [String: String]
            var requests: Int64
            var inputTokens: Int64
            var cacheReadTokens: Int64
            var cacheWrite5mTokens: Int64
            var cacheWrite1hTokens: Int64
            var outputTokens: Int64
            var reasoningTokens: Int64
            var costNanoUSD: Int64
            var costUSD: String
            var unknownCostRequests: Int64
            var estimatedRequests: Int64
            var failedRequests: Int64
            enum CodingKeys: String, CodingKey {
                case group, requests, inputTokens = "input_tokens", cacheReadTokens = "cache_read_tokens"
                case cacheWrite5mTokens = "cache_write_5m_tokens", cacheWrite1hTokens = "cache_write_1h_tokens"
                case outputTokens = "output_tokens", reasoningTokens = "reasoning_tokens", costNanoUSD = "cost_nano_usd"
                case costUSD = "cost_usd", unknownCostRequests = "unknown_cost_requests", estimatedRequests = "estimated_requests"
                case failedRequests = "failed_requests"
            }
            init(_ row: UsageRow) {
                group = row.group
                requests = row.requests
                inputTokens = row.usage.input
                cacheReadTokens = row.usage.cacheRead
                cacheWrite5mTokens = row.usage.cacheWrite5m
                cacheWrite1hTokens = row.usage.cacheWrite1h
                outputTokens = row.usage.output
                reasoningTokens = row.usage.reasoning
                costNanoUSD = row.cost.value
                costUSD = row.cost.dollars
                unknownCostRequests = row.unknownCostRequests
                estimatedRequests = row.estimatedRequests
                failedRequests = row.failedRequests
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        let output = Output(groupBy: groupBy.map(\.rawValue), rows: rows.map(Row.init), total: Row(total(rows)))
        return String(decoding: (try? encoder.encode(output)) ?? Data("{}".utf8), as: UTF8.self) + "\n"
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
