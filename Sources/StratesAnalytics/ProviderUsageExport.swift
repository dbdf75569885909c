import Foundation
import StratesCore
import StratesWire

/// One result of a provider's usage export: the tokens of one time bucket for one group
/// (model, API key, workspace or project, …) as the admin API grouped them.
public struct UsageBucket: Sendable, Equatable {
    public var start: Date
    public var end: Date?
    /// Nil when the export was not grouped by model.
    public var model: String?
    public var usage: Usage
    /// The provider's count of requests (OpenAI gives it; Anthropic's usage report does not).
    public var requests: Int64?
    /// The export's other groupings of this result with their values: `api_key_id`,
    /// `workspace_id`, `project_id`, `user_id`, `service_tier`, `batch`, `context_window`, …
    public var groups: [String: String]

    public init(start: Date, end: Date? = nil, model: String? = nil, usage: Usage, requests: Int64? = nil, groups: [String: String] = [:]) {
        self.start = start
        self.end = end
        self.model = model
        self.usage = usage
        self.requests = requests
        self.groups = groups
    }

    /// What makes this result one of its kind in its export: the bucket's start, the model
    /// and every grouping. The same result exported again has the same identity.
    public var identity: String {
        let grouped = groups.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        return ([String(Int64(start.timeIntervalSince1970)), model ?? ""] + grouped).joined(separator: "|")
    }
}

extension ProviderExport {
    /// The usage results of a usage export (Anthropic's messages usage report or OpenAI's
    /// completions usage), one per bucket and group, as the export gives them. A cost export
    /// is refused: it carries dollars, not tokens.
    public static func usageBuckets(_ bytes: [UInt8]) throws(Problem) -> (kind: Kind, buckets: [UsageBucket]) {
        var buckets: [UsageBucket] = []
        let kind = try forEachResult(bytes) { (bucket, result) throws(Problem) -> Kind in
            let (kind, row) = try Self.row(result, day: bucket.start)
            guard kind == .anthropicUsage || kind == .openAIUsage, let usage = row.usage else {
                throw Problem(
                    description:
                        "this is a \(kind.rawValue): it carries dollars, not tokens. Import the usage export (Anthropic's /v1/organizations/usage_report/messages, OpenAI's /v1/organization/usage/completions); compare costs with 'strates reconcile'"
                )
            }
            buckets.append(
                UsageBucket(
                    start: bucket.start, end: bucket.end, model: row.model.isEmpty ? nil : row.model,
                    usage: usage, requests: row.requests, groups: Self.groups(of: result)
                ))
            return kind
        }
        return (kind, buckets)
    }

    /// The groupings a result carries: its string fields other than the model and the object
    /// type, and OpenAI's `batch` flag. Null fields (not grouped by) are left out.
    static func groups(of result: [String: Any]) -> [String: String] {
        var groups: [String: String] = [:]
        for (key, value) in result where key != "model" && key != "object" {
            if let text = value as? String {
                groups[key] = text
            } else if key == "batch", let flag = value as? NSNumber {
                groups[key] = flag.boolValue ? "true" : "false"
            }
        }
        return groups
    }
}
