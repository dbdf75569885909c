import Foundation
import StratesCore
import StratesLedger

/// Builds the token-flow report from the ledger for the CLI and the API.
public enum FlowReporting {
    /// What a request for the report may get wrong, said in the caller's terms.
    public static func dimensions(_ text: String) -> Result<[UsageDimension], ReportProblem> {
        let (dimensions, unknown) = UsageReport.parseDimensions(text)
        guard unknown.isEmpty else {
            return .failure(
                ReportProblem(
                    param: "by",
                    message:
                        "unknown dimension(s) \(unknown.joined(separator: ", ")) (known: \(UsageDimension.allCases.filter { $0 != .day }.map(\.rawValue).joined(separator: ", ")))"
                ))
        }
        guard (1...2).contains(dimensions.count), !dimensions.contains(.day) else {
            return .failure(ReportProblem(param: "by", message: "give one or two dimensions, e.g. team,workflow (the trend is per day or week already)"))
        }
        return .success(dimensions)
    }

    public static func make(
        database: any RequestStore, dimensions: [UsageDimension], since: Date, until: Date, top: Int, trend: FlowReport.Trend?, team: String?
    ) async throws -> FlowReport {
        let filters: [UsageDimension: String] = team.map { [.team: $0] } ?? [:]
        let pairs = try await database.usage(UsageQuery(groupBy: dimensions, since: since, until: until, filters: filters))
        let series = try await database.usage(UsageQuery(groupBy: [dimensions[0], .day], since: since, until: until, filters: filters))
        let unit = trend ?? (until.timeIntervalSince(since) > 31 * 86_400 ? .week : .day)
        return FlowReport.make(dimensions: dimensions, pairs: pairs, series: series, top: top, trend: unit, since: since, until: until)
    }
}

public struct ReportProblem: Error, Sendable {
    public var param: String
    public var message: String
}
