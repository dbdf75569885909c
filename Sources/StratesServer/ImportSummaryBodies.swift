import Foundation
import StratesAnalytics
import StratesCore

// What an import did (`strates import … --format json`), as JSON.

extension KeyedEncodingContainer where Key == FieldKey {
    /// The tokens an import added, by kind.
    mutating func put(tokens usage: Usage) throws {
        try put("input_tokens", usage.input)
        try put("output_tokens", usage.output)
        try put("cache_read_tokens", usage.cacheRead)
        try put("cache_write_5m_tokens", usage.cacheWrite5m)
        try put("cache_write_1h_tokens", usage.cacheWrite1h)
    }
}

extension TranscriptImport.Summary: APIRepresentable {
    public func encodeFields(_ fields: inout APIFields) throws {
        try fields.put("files", files)
        try fields.put("unchanged_files", unchangedFiles)
        try fields.put("lines", lines)
        try fields.put("response_lines", responseLines)
        try fields.put("responses", responses)
        try fields.put("duplicates_folded", duplicates)
        try fields.put("sessions", sessions)
        try fields.put("added", added)
        try fields.put("updated", updated)
        try fields.put("already_present", unchanged)
        try fields.put("malformed_lines", malformed)
        try fields.put("problems", problems)
        try fields.put(tokens: usage)
        try fields.put("cost_usd", dollars: cost)
        try fields.put("unpriced_responses", unpricedResponses)
        try fields.put("bulk", bulk)
    }
}

extension SpendLogImport.Summary: APIRepresentable {
    public func encodeFields(_ fields: inout APIFields) throws {
        try fields.put("rows", rows)
        try fields.put("calls", calls)
        try fields.put("skipped", skipped)
        try fields.put("problems", problems)
        try fields.put("added", added)
        try fields.put("updated", updated)
        try fields.put("already_present", calls - added - updated)
        try fields.put("priced_by_litellm", pricedByLiteLLM)
        try fields.put("input_tokens", usage.input)
        try fields.put("output_tokens", usage.output)
        try fields.put("cache_read_tokens", usage.cacheRead)
        try fields.put("cost_usd", dollars: cost)
    }
}

extension UsageExportImport.Summary: APIRepresentable {
    public func encodeFields(_ fields: inout APIFields) throws {
        try fields.put("kind", kind)
        try fields.put("results", results)
        try fields.put("empty", empty)
        try fields.put("skipped_days", skippedDays.map(UsageReport.dayText))
        try fields.put("skipped_results", skippedResults)
        try fields.put("rows", rows)
        try fields.put("added", added)
        try fields.put("updated", updated)
        try fields.put("already_present", rows - added - updated)
        try fields.put("provider_requests", requests)
        try fields.put("unpriced", unpriced)
        try fields.put(tokens: usage)
        try fields.put("cost_usd", dollars: cost)
        try fields.put("unseen_keys", unseenKeys)
    }
}
