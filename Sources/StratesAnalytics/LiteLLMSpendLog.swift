import Foundation
import StratesCore

/// One row of LiteLLM's spend logs (`LiteLLM_SpendLogs`), as `GET /spend/logs` returns them
/// (a JSON list) or its UI exports them (CSV with the same column names, `metadata` as a
/// JSON string). LiteLLM reports usage the OpenAI way: `prompt_tokens` includes cached
/// tokens (reads in `metadata.usage_object.prompt_tokens_details.cached_tokens` or
/// `cache_read_input_tokens`, writes in `cache_creation_input_tokens`), which are split out here.
public struct LiteLLMSpendRow: Sendable, Equatable {
    public var requestID: String
    public var callType: String
    public var startedAt: Date
    public var endedAt: Date?
    public var model: String
    public var modelGroup: String?
    public var provider: String?
    public var usage: Usage
    /// What LiteLLM priced the call at.
    public var spend: NanoUSD?
    public var failed: Bool
    public var team: String?
    public var user: String?
    public var endUser: String?
    public var session: String?

    public var api: String {
        switch callType {
        case "embedding", "aembedding": "embeddings"
        case "anthropic_messages", "aanthropic_messages": "messages"
        case "responses", "aresponses": "responses"
        default: "chat_completions"
        }
    }

    /// Reads one row; nil with the reason when it cannot be a call.
    public static func read(_ row: [String: Any]) -> Result<LiteLLMSpendRow, Problem> {
        func text(_ key: String) -> String? {
            if let value = row[key] as? String { return value.isEmpty ? nil : value }
            return (row[key] as? NSNumber)?.stringValue
        }
        func int(_ value: Any?) -> Int64 {
            if let number = value as? NSNumber {
                // Beyond 2^53 a JSON number is a double; converting it must not trap.
                let double = number.doubleValue
                return abs(double) < 9e15 ? number.int64Value : Int64(saturating: double)
            }
            return (value as? String).flatMap { Int64($0) } ?? 0
        }
        guard let id = text("request_id") else { return .failure(Problem("a row without request_id")) }
        guard let start = text("startTime").flatMap(parseTime) else { return .failure(Problem("row \(id): startTime is missing or not a time")) }
        var metadata = row["metadata"] as? [String: Any]
        if metadata == nil, let raw = row["metadata"] as? String, let parsed = try? JSONSerialization.jsonObject(with: Data(raw.utf8)) as? [String: Any] {
            metadata = parsed
        }
        let usageObject = metadata?["usage_object"] as? [String: Any]
        let cacheRead = int((usageObject?["prompt_tokens_details"] as? [String: Any])?["cached_tokens"] ?? usageObject?["cache_read_input_tokens"])
        let cacheWrite = int(usageObject?["cache_creation_input_tokens"])
        let prompt = int(row["prompt_tokens"])
        let spend = DecimalText.signedScaled(row["spend"], decimals: 9).map(NanoUSD.init)
        let usage = Usage(
            input: max(0, prompt.saturatingSubtract(cacheRead).saturatingSubtract(cacheWrite)), output: int(row["completion_tokens"]), cacheRead: cacheRead,
            cacheWrite5m: cacheWrite)
        if let count = usage.outOfBounds(Bounds.importedTokensPerRecord) { return .failure(Problem("row \(id): usage out of bounds (\(count))")) }
        if let spend, spend.value.magnitude > UInt64(Bounds.money) { return .failure(Problem("row \(id): spend out of bounds")) }
        return .success(
            LiteLLMSpendRow(
                requestID: id, callType: text("call_type") ?? "acompletion", startedAt: start, endedAt: text("endTime").flatMap(parseTime),
                model: text("model") ?? "", modelGroup: text("model_group"), provider: text("custom_llm_provider"),
                usage: usage,
                spend: spend, failed: (text("status") ?? "success") != "success",
                team: text("team_id") ?? metadata?["user_api_key_team_alias"] as? String, user: text("user") ?? metadata?["user_api_key_user_id"] as? String,
                endUser: text("end_user"), session: text("session_id")
            ))
    }

    /// `2026-11-20T09:00:03.120000+00:00`, `2026-11-20T09:00:03Z`, or without a zone (UTC, as LiteLLM stores it).
    public static func parseTime(_ text: String) -> Date? {
        var value = text.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: " ", with: "T")
        let hasZone = value.hasSuffix("Z") || value.dropFirst(19).contains("+") || value.dropFirst(19).contains("-")
        if !hasZone { value += "Z" }
        return RFC3339.parse(value)
    }

    public struct Problem: Error, Equatable, Sendable {
        public var reason: String
        public init(_ reason: String) { self.reason = reason }
    }

    /// The rows of an export: a JSON list (or `{"data": [...]}`), JSON lines, or CSV with a header.
    public static func rows(_ bytes: [UInt8]) -> [[String: Any]]? {
        if let whole = try? JSONSerialization.jsonObject(with: Data(bytes)) {
            if let list = whole as? [[String: Any]] { return list }
            if let page = whole as? [String: Any], let list = page["data"] as? [[String: Any]] { return list }
            return nil
        }
        let text = String(decoding: bytes, as: UTF8.self)
        let lines = text.split(whereSeparator: \.isNewline)
        if let first = lines.first, first.hasPrefix("{") {
            let objects = lines.compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] }
            return objects.count == lines.count ? objects : nil
        }
        let table = CSVText.rows(text)
        guard let header = table.first, header.contains("request_id") else { return nil }
        return table.dropFirst().map { Dictionary(zip(header, $0).map { ($0, $1 as Any) }, uniquingKeysWith: { first, _ in first }) }
    }
}
