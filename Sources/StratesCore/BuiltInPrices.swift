import Foundation

extension PriceCatalog {
    /// List prices shipped with Strates (USD per million tokens, as published by each vendor).
    /// Kept current by `strates prices import` of LiteLLM's price map; these are the floor.
    public static func builtIn() -> PriceCatalog {
        var catalog = PriceCatalog()
        for row in builtInRows {
            catalog.add(row.price)
        }
        return catalog
    }

    private struct Row {
        var provider: String
        var model: String
        var from: String
        var input: String
        var output: String
        var cacheRead: String? = nil
        var long: (threshold: Int64, input: String, output: String, cacheRead: String?)? = nil
        var batch: Int64? = 5_000
        var priority: Int64? = nil

        var price: ModelPrice {
            let rate = { (text: String) in TokenRate(dollarsPerMillion: text)! }
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withFullDate]
            return ModelPrice(
                provider: provider, model: model, effectiveFrom: formatter.date(from: from)!,
                input: rate(input), output: rate(output), cacheRead: cacheRead.map(rate),
                longContext: long.map {
                    LongContextTier(threshold: $0.threshold, input: rate($0.input), output: rate($0.output), cacheRead: $0.cacheRead.map(rate))
                },
                batchBasisPoints: batch, priorityBasisPoints: priority, source: "builtin"
            )
        }
    }

    private static var builtInRows: [Row] {
        [
            // OpenAI
            Row(provider: "openai", model: "gpt-5.1", from: "2025-11-13", input: "1.25", output: "10.00", cacheRead: "0.125", priority: 20_000),
            Row(provider: "openai", model: "gpt-5.1-codex", from: "2025-11-13", input: "1.25", output: "10.00", cacheRead: "0.125", priority: 20_000),
            Row(provider: "openai", model: "gpt-5.1-codex-mini", from: "2025-11-13", input: "0.25", output: "2.00", cacheRead: "0.025"),
            Row(provider: "openai", model: "gpt-5", from: "2025-08-07", input: "1.25", output: "10.00", cacheRead: "0.125", priority: 20_000),
            Row(provider: "openai", model: "gpt-5-codex", from: "2025-09-15", input: "1.25", output: "10.00", cacheRead: "0.125", priority: 20_000),
            Row(provider: "openai", model: "gpt-5-mini", from: "2025-08-07", input: "0.25", output: "2.00", cacheRead: "0.025", priority: 18_000),
            Row(provider: "openai", model: "gpt-5-nano", from: "2025-08-07", input: "0.05", output: "0.40", cacheRead: "0.005"),
            Row(provider: "openai", model: "gpt-4.1", from: "2025-04-14", input: "2.00", output: "8.00", cacheRead: "0.50", priority: 17_500),
            Row(provider: "openai", model: "gpt-4.1-mini", from: "2025-04-14", input: "0.40", output: "1.60", cacheRead: "0.10", priority: 17_500),
            Row(provider: "openai", model: "gpt-4.1-nano", from: "2025-04-14", input: "0.10", output: "0.40", cacheRead: "0.025", priority: 20_000),
            Row(provider: "openai", model: "gpt-4o", from: "2024-10-01", input: "2.50", output: "10.00", cacheRead: "1.25", priority: 17_000),
            Row(provider: "openai", model: "gpt-4o-mini", from: "2024-07-18", input: "0.15", output: "0.60", cacheRead: "0.075", priority: 16_667),
            Row(provider: "openai", model: "o3", from: "2025-06-10", input: "2.00", output: "8.00", cacheRead: "0.50", priority: 17_500),
            Row(provider: "openai", model: "o3-mini", from: "2025-01-31", input: "1.10", output: "4.40", cacheRead: "0.55"),
            Row(provider: "openai", model: "o4-mini", from: "2025-04-16", input: "1.10", output: "4.40", cacheRead: "0.275", priority: 18_182),
            Row(provider: "openai", model: "o1", from: "2024-12-17", input: "15.00", output: "60.00", cacheRead: "7.50"),
            Row(provider: "openai", model: "text-embedding-3-small", from: "2024-01-25", input: "0.02", output: "0"),
            Row(provider: "openai", model: "text-embedding-3-large", from: "2024-01-25", input: "0.13", output: "0"),
            Row(provider: "openai", model: "text-embedding-ada-002", from: "2022-12-15", input: "0.10", output: "0"),
            // Anthropic: cache writes default to 1.25× (5 min) and 2× (1 h) input, reads to 0.1×.
            Row(provider: "anthropic", model: "claude-opus-4-5", from: "2025-11-24", input: "5.00", output: "25.00"),
            Row(provider: "anthropic", model: "claude-opus-4-1", from: "2025-08-05", input: "15.00", output: "75.00"),
            Row(provider: "anthropic", model: "claude-opus-4", from: "2025-05-22", input: "15.00", output: "75.00"),
            Row(
                provider: "anthropic", model: "claude-sonnet-4-5", from: "2025-09-29", input: "3.00", output: "15.00",
                long: (200_000, "6.00", "22.50", nil)),
            Row(
                provider: "anthropic", model: "claude-sonnet-4", from: "2025-05-22", input: "3.00", output: "15.00",
                long: (200_000, "6.00", "22.50", nil)),
            Row(provider: "anthropic", model: "claude-3-7-sonnet", from: "2025-02-24", input: "3.00", output: "15.00"),
            Row(provider: "anthropic", model: "claude-haiku-4-5", from: "2025-10-15", input: "1.00", output: "5.00"),
            Row(provider: "anthropic", model: "claude-3-5-haiku", from: "2024-10-22", input: "0.80", output: "4.00"),
            // Google
            Row(
                provider: "google", model: "gemini-3-pro-preview", from: "2025-11-18", input: "2.00", output: "12.00", cacheRead: "0.20",
                long: (200_000, "4.00", "18.00", "0.40")),
            Row(
                provider: "google", model: "gemini-2.5-pro", from: "2025-06-17", input: "1.25", output: "10.00", cacheRead: "0.125",
                long: (200_000, "2.50", "15.00", "0.25")),
            Row(provider: "google", model: "gemini-2.5-flash", from: "2025-06-17", input: "0.30", output: "2.50", cacheRead: "0.03"),
            Row(provider: "google", model: "gemini-2.5-flash-lite", from: "2025-07-22", input: "0.10", output: "0.40", cacheRead: "0.01"),
            // Popular open models, at typical hosted list prices.
            Row(provider: "open", model: "gpt-oss-120b", from: "2025-08-05", input: "0.15", output: "0.60", batch: nil),
            Row(provider: "open", model: "gpt-oss-20b", from: "2025-08-05", input: "0.05", output: "0.20", batch: nil),
            Row(provider: "open", model: "deepseek-chat", from: "2025-09-29", input: "0.28", output: "0.42", cacheRead: "0.028", batch: nil),
            Row(provider: "open", model: "deepseek-reasoner", from: "2025-09-29", input: "0.28", output: "0.42", cacheRead: "0.028", batch: nil),
            Row(provider: "open", model: "llama-3.3-70b-instruct", from: "2024-12-06", input: "0.88", output: "0.88", batch: nil),
            Row(provider: "open", model: "qwen3-coder-480b-a35b-instruct", from: "2025-07-22", input: "2.00", output: "2.00", batch: nil),
            Row(provider: "open", model: "kimi-k2-instruct", from: "2025-07-11", input: "0.60", output: "2.50", batch: nil),
        ]
    }
}
