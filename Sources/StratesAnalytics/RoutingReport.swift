import Foundation
import StratesCore
import StratesLedger

/// One route in the routing report.
public struct RoutingLine: Sendable, Equatable {
    public struct Deployment: Sendable, Equatable {
        /// `provider/model`.
        public var name: String
        public var requests: Int64 = 0
        public var cost: Int64 = 0
    }

    public var route: String
    public var requests: Int64 = 0
    /// Requests that failed or were cut after all their attempts.
    public var errors: Int64 = 0
    /// Requests that needed a fallback or a retry.
    public var fellBack: Int64 = 0
    public var deployments: [Deployment] = []
    /// Each sequence of failed attempts (`down/m: 503; slow/m: timeout`) and how often it happened.
    public var reasons: [(attempts: String, count: Int64)] = []
    /// Nano-USD at contract cost.
    public var spend: Int64 = 0
    public var unknownCostRequests: Int64 = 0
    public var inputTokens: Int64 = 0
    public var cacheReadTokens: Int64 = 0
    /// What the same tokens would have cost without prompt caching, less what they cost.
    public var cachingSaved: Int64 = 0
    /// What the same usage would have cost on the requested model (or the route's first
    /// deployment, for an alias), less what it cost; over the requests both prices are known.
    public var savings: Int64 = 0

    public init(route: String) { self.route = route }

    public var cacheReadShare: Double { inputTokens > 0 ? Double(cacheReadTokens) / Double(inputTokens) : 0 }

    public static func == (lhs: RoutingLine, rhs: RoutingLine) -> Bool {
        lhs.route == rhs.route && lhs.requests == rhs.requests && lhs.errors == rhs.errors && lhs.fellBack == rhs.fellBack
            && lhs.deployments == rhs.deployments && lhs.reasons.map(\.attempts) == rhs.reasons.map(\.attempts)
            && lhs.reasons.map(\.count) == rhs.reasons.map(\.count) && lhs.spend == rhs.spend && lhs.cachingSaved == rhs.cachingSaved
            && lhs.savings == rhs.savings
    }
}

/// `strates report routing`: per route (alias or model), requests by deployment, fallbacks
/// and why, errors, spend, the cache-read share and what caching saved, and the estimated
/// savings against the requested model.
public struct RoutingReport: Sendable {
    public var since: Date
    public var until: Date
    public var lines: [RoutingLine]
    /// Moves off deployments above a price ceiling (and back) in the window.
    public var events: [RouteEvent] = []

    /// `cost(row, usage, baseline)`: the contract cost of `usage` at the row's served model
    /// (baseline false) or at the model it is compared with (baseline true); nil when unpriced.
    public static func make(
        since: Date, until: Date, rows: [RoutingUsageRow], reasons: [(route: String, attempts: String, count: Int64)],
        cost: (RoutingUsageRow, Usage, _ baseline: Bool) -> NanoUSD?
    ) -> RoutingReport {
        var lines: [String: RoutingLine] = [:]
        for row in rows {
            var line = lines[row.route] ?? RoutingLine(route: row.route)
            line.requests += row.requests
            if row.failed { line.errors += row.requests }
            if row.fellBack { line.fellBack += row.requests }
            let name = "\(row.provider ?? "-")/\(row.servedModel ?? row.requestedModel)"
            if let index = line.deployments.firstIndex(where: { $0.name == name }) {
                line.deployments[index].requests += row.requests
                line.deployments[index].cost += row.cost
            } else {
                line.deployments.append(RoutingLine.Deployment(name: name, requests: row.requests, cost: row.cost))
            }
            line.spend += row.cost
            line.unknownCostRequests += row.unknownCost
            line.inputTokens += row.usage.totalInput
            line.cacheReadTokens += row.usage.cacheRead
            if let actual = cost(row, row.usage, false) {
                let uncached = Usage(input: row.usage.totalInput, output: row.usage.output, reasoning: row.usage.reasoning)
                if let without = cost(row, uncached, false) { line.cachingSaved += without.value - actual.value }
                if let baseline = cost(row, row.usage, true) { line.savings += baseline.value - actual.value }
            }
            lines[row.route] = line
        }
        for reason in reasons {
            lines[reason.route, default: RoutingLine(route: reason.route)].reasons.append((reason.attempts, reason.count))
        }
        for key in lines.keys {
            lines[key]?.deployments.sort { ($0.requests, $1.name) > ($1.requests, $0.name) }
            lines[key]?.reasons.sort { ($0.count, $1.attempts) > ($1.count, $0.attempts) }
        }
        return RoutingReport(since: since, until: until, lines: lines.values.sorted { ($0.spend, $1.route) > ($1.spend, $0.route) })
    }

    /// The table `strates report routing` prints: a line per route, then its deployments and fallbacks.
    public var table: [[String]] {
        var rows = [["route / deployment", "requests", "errors", "fell back", "spend", "cache read", "caching saved", "saved vs requested"]]
        for line in lines {
            rows.append([
                line.route, String(line.requests), String(line.errors), String(line.fellBack), NanoUSD(line.spend).description,
                String(format: "%.1f%%", line.cacheReadShare * 100), NanoUSD(line.cachingSaved).description, NanoUSD(line.savings).description,
            ])
            for deployment in line.deployments {
                rows.append(["  " + deployment.name, String(deployment.requests), "", "", NanoUSD(deployment.cost).description, "", "", ""])
            }
            for reason in line.reasons.prefix(5) {
                rows.append(["  after " + reason.attempts, String(reason.count), "", "", "", "", "", ""])
            }
        }
        return rows
    }
}
