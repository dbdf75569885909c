import Foundation
import StratesCore
import StratesLedger

/// `strates report flow`: where the tokens go along one or two dimensions (team→workflow,
/// member→model, environment→provider, …), each group's share of the total, the top N with
/// the rest folded into "(other)", and each top group's trend per day or week.
public struct FlowReport: Sendable {
    public enum Trend: String, Sendable {
        case day, week
    }

    public struct Group: Sendable, Equatable {
        public var key: String
        public var requests: Int64 = 0
        public var tokens: Int64 = 0
        public var cost: Int64 = 0
        /// Of the whole window's spend (of its tokens, when nothing was priced).
        public var share: Double = 0
        /// Along the second dimension, top N and "(other)".
        public var children: [Group] = []
        /// Spend per period, oldest first, for top-level groups.
        public var trend: [Int64] = []

        public init(key: String) { self.key = key }
    }

    public var dimensions: [UsageDimension]
    public var since: Date
    public var until: Date
    public var trendUnit: Trend
    /// Period labels: `2026-11-20`, or the Monday opening each week.
    public var periods: [String]
    public var requests: Int64 = 0
    public var tokens: Int64 = 0
    public var cost: Int64 = 0
    public var groups: [Group]

    public static let other = "(other)"

    /// `pairs`: usage grouped by the dimensions; `series`: by the first dimension and day.
    public static func make(
        dimensions: [UsageDimension], pairs: [UsageRow], series: [UsageRow], top: Int, trend: Trend, since: Date, until: Date
    ) -> FlowReport {
        let periods = Self.periods(since: since, until: until, unit: trend)
        var report = FlowReport(dimensions: dimensions, since: since, until: until, trendUnit: trend, periods: periods.map(\.label), groups: [])
        for row in pairs {
            report.requests += row.requests
            report.tokens += row.usage.total
            report.cost += row.cost.value
        }
        let byCost = report.cost > 0
        func share(_ group: Group) -> Double {
            let whole = byCost ? report.cost : report.tokens
            return whole > 0 ? Double(byCost ? group.cost : group.tokens) / Double(whole) : 0
        }
        func weight(_ group: Group) -> Int64 { byCost ? group.cost : group.tokens }
        var first: [String: Group] = [:]
        var second: [String: [String: Group]] = [:]
        for row in pairs {
            let key = row.group[dimensions[0].rawValue] ?? "(none)"
            first[key, default: Group(key: key)].add(row)
            if dimensions.count > 1 {
                let child = row.group[dimensions[1].rawValue] ?? "(none)"
                second[key, default: [:]][child, default: Group(key: child)].add(row)
            }
        }
        let ranked = first.values.sorted { (weight($0), $1.key) > (weight($1), $0.key) }
        var kept = Array(ranked.prefix(top))
        if ranked.count > top { kept.append(ranked.dropFirst(top).reduce(into: Group(key: other)) { $0.merge($1) }) }
        var trends: [String: [Int64]] = [:]
        let index = Dictionary(uniqueKeysWithValues: periods.enumerated().flatMap { position, period in period.days.map { ($0, position) } })
        let topKeys = Set(kept.map(\.key))
        for row in series {
            guard let day = row.group[UsageDimension.day.rawValue], let position = index[day] else { continue }
            let raw = row.group[dimensions[0].rawValue] ?? "(none)"
            let key = topKeys.contains(raw) ? raw : other
            trends[key, default: Array(repeating: 0, count: periods.count)][position] += row.cost.value
        }
        report.groups = kept.map { group in
            var group = group
            group.share = share(group)
            group.trend = trends[group.key] ?? Array(repeating: 0, count: periods.count)
            if group.key != other, let children = second[group.key] {
                let rankedChildren = children.values.sorted { (weight($0), $1.key) > (weight($1), $0.key) }
                var keptChildren = Array(rankedChildren.prefix(top))
                if rankedChildren.count > top { keptChildren.append(rankedChildren.dropFirst(top).reduce(into: Group(key: other)) { $0.merge($1) }) }
                group.children = keptChildren.map { child in
                    var child = child
                    child.share = share(child)
                    return child
                }
            }
            return group
        }
        return report
    }

    /// The window's periods, each with its days (`YYYY-MM-DD`, UTC); weeks open on Mondays.
    static func periods(since: Date, until: Date, unit: Trend) -> [(label: String, days: [String])] {
        var calendar = Calendar(identifier: .iso8601)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        var day = calendar.startOfDay(for: since)
        var result: [(label: String, days: [String])] = []
        while day < until, result.count < 400 {
            let text = UsageReport.dayText(day)
            if unit == .day {
                result.append((text, [text]))
            } else {
                let monday = calendar.dateInterval(of: .weekOfYear, for: day)?.start ?? day
                let label = UsageReport.dayText(monday)
                if result.last?.label == label { result[result.count - 1].days.append(text) } else { result.append((label, [text])) }
            }
            day = calendar.date(byAdding: .day, value: 1, to: day) ?? until
        }
        return result
    }

    /// Groups, their children indented, and a sparkline-free trend: the last few periods' spend.
    public var table: [[String]] {
        let shown = Array(periods.suffix(4))
        var rows = [[dimensions.map(\.rawValue).joined(separator: " / "), "requests", "tokens", "spend", "share"] + shown]
        for group in groups {
            rows.append(
                [group.key, String(group.requests), String(group.tokens), NanoUSD(group.cost).description, Self.percent(group.share)]
                    + group.trend.suffix(shown.count).map { NanoUSD($0).description })
            for child in group.children {
                rows.append(
                    ["  " + child.key, String(child.requests), String(child.tokens), NanoUSD(child.cost).description, Self.percent(child.share)]
                        + Array(repeating: "", count: shown.count))
            }
        }
        return rows
    }

    static func percent(_ value: Double) -> String { String(format: "%.1f%%", value * 100) }
}

extension FlowReport.Group {
    mutating func add(_ row: UsageRow) {
        requests += row.requests
        tokens += row.usage.total
        cost += row.cost.value
    }

    mutating func merge(_ other: FlowReport.Group) {
        requests += other.requests
        tokens += other.tokens
        cost += other.cost
    }
}
