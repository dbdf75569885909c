import Foundation
import GRDB
import StratesCore
import StratesLedger

/// One usage query over [since, until): the whole UTC days inside the window come from
/// `usage_daily`, the whole hours around them from `usage_hourly`, and the parts of hours at
/// its ends from `requests` by time. Each grouping or filter is given as the same
/// expression over each table.
struct UsageWindow {
    struct Expression {
        /// Over either rollup table.
        var rollup: String
        var raw: String
        /// Over `usage_daily` when it differs; nil when only hours can answer (an hour).
        var daily: String?

        init(rollup: String, raw: String, daily: String? = "") {
            self.rollup = rollup
            self.raw = raw
            self.daily = daily == "" ? rollup : daily
        }

        func text(_ source: Source) -> String {
            switch source {
            case .daily: daily ?? rollup
            case .hourly: rollup
            case .raw: raw
            }
        }
    }

    enum Source { case daily, hourly, raw }

    var groups: [Expression] = []
    var filters: [(Expression, any DatabaseValueConvertible)] = []
    /// A condition both tables can answer (over their shared `status` column, say).
    var condition: String?
    var since: Date?
    var until: Date?
    /// Everything from `requests` (a grouping the rollup does not keep, such as run).
    var rawOnly = false

    /// The expressions of a report dimension; nil for one only `requests` has.
    static func expression(_ dimension: UsageDimension) -> Expression? {
        switch dimension {
        case .team: Expression(rollup: "NULLIF(team, '')", raw: "team")
        case .member: Expression(rollup: "NULLIF(member, '')", raw: "member")
        case .key: Expression(rollup: "NULLIF(key_id, '')", raw: "key_id")
        case .workflow: Expression(rollup: "NULLIF(workflow, '')", raw: "workflow")
        case .process: Expression(rollup: "NULLIF(process, '')", raw: "process")
        case .model: Expression(rollup: "model", raw: "COALESCE(served_model, requested_model)")
        case .provider: Expression(rollup: "NULLIF(provider, '')", raw: "provider")
        case .environment: Expression(rollup: "environment", raw: "environment")
        case .organization: Expression(rollup: "NULLIF(organization, '')", raw: "organization")
        case .status: Expression(rollup: "status", raw: "status")
        case .day:
            Expression(
                rollup: "strftime('%Y-%m-%d', hour * 3600, 'unixepoch')", raw: "strftime('%Y-%m-%d', started_at / 1000, 'unixepoch')",
                daily: "strftime('%Y-%m-%d', day * 86400, 'unixepoch')"
            )
        case .run: nil
        }
    }

    /// A filter on a dimension compares the stored column, so the rollup's key can be used.
    static func filter(_ dimension: UsageDimension) -> Expression? {
        switch dimension {
        case .team, .member, .workflow, .process, .provider, .organization: Expression(rollup: dimension.rawValue, raw: dimension.rawValue)
        case .key: Expression(rollup: "key_id", raw: "key_id")
        default: expression(dimension)
        }
    }

    /// A dimension over `requests` alone.
    static func rawExpression(_ dimension: UsageDimension) -> Expression {
        Expression(rollup: "", raw: expression(dimension)?.raw ?? "run")
    }

    static let hourGroup = Expression(rollup: "hour", raw: "started_at / 3600000", daily: nil)

    static let measures = [
        ("requests", "requests", "1"), ("input", "input", "input_tokens"), ("output", "output", "output_tokens"),
        ("cache_read", "cache_read", "cache_read_tokens"), ("cache_write_5m", "cache_write_5m", "cache_write_5m_tokens"),
        ("cache_write_1h", "cache_write_1h", "cache_write_1h_tokens"), ("reasoning", "reasoning", "reasoning_tokens"),
        ("cost", "cost", "COALESCE(cost_nano, 0)"), ("unknown_cost", "unknown_cost", "cost_nano IS NULL"),
        ("estimated", "estimated", "usage_estimated"), ("failed", "failed", "status IN ('failed', 'rejected')"),
        ("without_run", "without_run", "run IS NULL"),
    ]

    /// Splits [low, high) (milliseconds, open when nil) into whole units of `unit` (as unit
    /// numbers) and the parts at either end left over (as milliseconds).
    static func split(_ low: Int64?, _ high: Int64?, unit: Int64) -> (whole: (Int64?, Int64?)?, rest: [(Int64?, Int64?)]) {
        let first = low.map { ($0 + unit - 1) / unit }
        let last = high.map { $0 / unit }
        if let first, let last, first >= last { return (nil, [(low, high)]) }
        var rest: [(Int64?, Int64?)] = []
        if let low, let first, low < first * unit { rest.append((low, first * unit)) }
        if let high, let last, last * unit < high { rest.append((last * unit, high)) }
        return ((first, last), rest)
    }

    /// The query: groups as g0, g1, …, then the measures by name, largest cost first.
    func sql() -> (String, StatementArguments) {
        var parts: [String] = []
        var arguments: [(any DatabaseValueConvertible)?] = []
        func part(_ source: Source, _ ranges: [(Int64?, Int64?)]) {
            guard !ranges.isEmpty else { return }
            var conditions = filters.map { "\($0.0.text(source)) = ?" }
            if let condition { conditions.append(condition) }
            let level: Rollups.Level? =
                switch source {
                case .daily: Rollups.daily
                case .hourly: Rollups.hourly
                case .raw: nil
                }
            let column = level?.column ?? "started_at"
            let spans = ranges.map { range -> String in
                var bounds: [String] = []
                if let low = range.0 { bounds.append("\(column) >= \(low)") }
                if let high = range.1 { bounds.append("\(column) < \(high)") }
                return bounds.isEmpty ? "1" : "(" + bounds.joined(separator: " AND ") + ")"
            }
            conditions.append("(" + spans.joined(separator: " OR ") + ")")
            let selected =
                groups.enumerated().map { "\($0.element.text(source)) AS g\($0.offset)" }
                + Self.measures.map { "\(source == .raw ? $0.2 : $0.1) AS \($0.0)" }
            let table = level?.table ?? "requests"
            parts.append("SELECT \(selected.joined(separator: ", ")) FROM \(table) WHERE \(conditions.joined(separator: " AND "))")
            arguments += filters.map { $0.1 }
        }
        let low = since.map(SQLiteLedger.millis)
        let high = until.map(SQLiteLedger.millis)
        if rawOnly {
            part(.raw, [(low, high)])
        } else {
            var forHours = [(low, high)]
            if !(groups + filters.map(\.0)).contains(where: { $0.daily == nil }) {
                let days = Self.split(low, high, unit: Rollups.daily.unit)
                if let whole = days.whole { part(.daily, [whole]) }
                forHours = days.rest
            }
            var forRaw: [(Int64?, Int64?)] = []
            var hours: [(Int64?, Int64?)] = []
            for range in forHours {
                let split = Self.split(range.0, range.1, unit: Rollups.hourly.unit)
                if let whole = split.whole { hours.append(whole) }
                forRaw += split.rest
            }
            part(.hourly, hours)
            part(.raw, forRaw)
        }
        let keys = groups.indices.map { "g\($0)" }
        let sql = """
            SELECT \((keys + Self.measures.map { "COALESCE(SUM(\($0.0)), 0) AS \($0.0)" }).joined(separator: ", "))
            FROM (\(parts.joined(separator: " UNION ALL ")))
            \(keys.isEmpty ? "" : "GROUP BY " + keys.joined(separator: ", "))
            ORDER BY cost DESC, requests DESC
            """
        return (sql, StatementArguments(arguments))
    }
}
