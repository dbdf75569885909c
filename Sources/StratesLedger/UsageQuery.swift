import Foundation
import StratesCore

/// A dimension usage can be grouped by.
public enum UsageDimension: String, Sendable, CaseIterable, Codable {
    case team, member, key, workflow, run, process, model, provider, environment, day, organization, status
}

/// Filters and grouping for a usage report.
public struct UsageQuery: Sendable, Equatable {
    public var groupBy: [UsageDimension]
    public var since: Date?
    public var until: Date?
    public var filters: [UsageDimension: String]

    public init(groupBy: [UsageDimension] = [], since: Date? = nil, until: Date? = nil, filters: [UsageDimension: String] = [:]) {
        self.groupBy = groupBy
        self.since = since
        self.until = until
        self.filters = filters
    }
}

/// One group of a usage report.
public struct UsageRow: Sendable, Equatable, Codable {
    public var group: [String: String]
    public var requests: Int64
    public var usage: Usage
    /// Cost of the requests whose price was known.
    public var cost: NanoUSD
    /// Requests whose cost is unknown (no price): their tokens are counted, their cost is not.
    public var unknownCostRequests: Int64
    public var estimatedRequests: Int64
    public var failedRequests: Int64

    public init(
        group: [String: String], requests: Int64, usage: Usage, cost: NanoUSD, unknownCostRequests: Int64, estimatedRequests: Int64, failedRequests: Int64
    ) {
        self.group = group
        self.requests = requests
        self.usage = usage
        self.cost = cost
        self.unknownCostRequests = unknownCostRequests
        self.estimatedRequests = estimatedRequests
        self.failedRequests = failedRequests
    }
}
