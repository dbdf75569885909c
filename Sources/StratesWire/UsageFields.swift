import StratesCore

/// Reads the `usage` objects of each API into `Usage`, normalising token kinds.
public enum UsageFields {
    /// Chat Completions and Embeddings: `prompt_tokens` includes cached tokens, which are split out.
    public static func openAIChat(_ usage: JSONView) -> Usage? {
        guard usage.isObject else { return nil }
        let fields = usage.members(["prompt_tokens", "completion_tokens", "prompt_tokens_details", "completion_tokens_details", "prompt_cache_hit_tokens"])
        guard let prompt = fields["prompt_tokens"]?.int64 else { return nil }
        let cached =
            fields["prompt_tokens_details"]?["cached_tokens"]?.int64
            ?? fields["prompt_cache_hit_tokens"]?.int64 ?? 0
        return Usage(
            input: max(0, prompt.saturatingSubtract(cached)),
            output: fields["completion_tokens"]?.int64 ?? 0,
            cacheRead: cached,
            reasoning: fields["completion_tokens_details"]?["reasoning_tokens"]?.int64 ?? 0
        )
    }

    /// Responses API: `input_tokens` includes `input_tokens_details.cached_tokens`.
    public static func openAIResponses(_ usage: JSONView) -> Usage? {
        guard usage.isObject else { return nil }
        let fields = usage.members(["input_tokens", "output_tokens", "input_tokens_details", "output_tokens_details"])
        guard let input = fields["input_tokens"]?.int64 else { return nil }
        let cached = fields["input_tokens_details"]?["cached_tokens"]?.int64 ?? 0
        return Usage(
            input: max(0, input.saturatingSubtract(cached)),
            output: fields["output_tokens"]?.int64 ?? 0,
            cacheRead: cached,
            reasoning: fields["output_tokens_details"]?["reasoning_tokens"]?.int64 ?? 0
        )
    }

    /// Anthropic Messages: input excludes cache reads and writes; writes split by TTL when
    /// `cache_creation` gives the breakdown, otherwise counted as 5-minute writes.
    /// Fields absent here keep the values of `base` (a stream's `message_start`).
    public static func anthropic(_ usage: JSONView, base: Usage? = nil) -> Usage? {
        guard usage.isObject else { return nil }
        let fields = usage.members(["input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens", "cache_creation"])
        var result = base ?? Usage()
        var sawAny = false
        if let value = fields["input_tokens"]?.int64 {
            result.input = value
            sawAny = true
        }
        if let value = fields["output_tokens"]?.int64 {
            result.output = value
            sawAny = true
        }
        if let value = fields["cache_read_input_tokens"]?.int64 {
            result.cacheRead = value
            sawAny = true
        }
        let breakdown = fields["cache_creation"]
        let write5m = breakdown?["ephemeral_5m_input_tokens"]?.int64
        let write1h = breakdown?["ephemeral_1h_input_tokens"]?.int64
        if write5m != nil || write1h != nil {
            result.cacheWrite5m = write5m ?? 0
            result.cacheWrite1h = write1h ?? 0
            sawAny = true
        } else if let total = fields["cache_creation_input_tokens"]?.int64 {
            result.cacheWrite5m = total
            result.cacheWrite1h = 0
            sawAny = true
        }
        return sawAny || base != nil ? result : nil
    }
}
