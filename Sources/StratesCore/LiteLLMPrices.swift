import Foundation

/// Reads LiteLLM's `model_prices_and_context_window.json`, the price map most teams keep current.
public enum LiteLLMPrices {
    public struct Result: Sendable {
        public var prices: [ModelPrice]
        /// Entries passed over, with why (no token prices, not a chat/embedding model, …).
        public var skipped: [(model: String, reason: String)]
    }

    public struct FormatError: Error, CustomStringConvertible {
        public var description: String
    }

    public static func parse(_ data: Data, effectiveFrom: Date) throws -> Result {
        let root: Any
        do {
            root = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw FormatError(description: "not valid JSON: \(error.localizedDescription)")
        }
        guard let models = root as? [String: Any] else {
            throw FormatError(description: "expected a JSON object keyed by model name")
        }
        var prices: [ModelPrice] = []
        var skipped: [(String, String)] = []
        for (name, value) in models.sorted(by: { $0.key < $1.key }) where name != "sample_spec" {
            guard let spec = value as? [String: Any] else {
                skipped.append((name, "entry is not an object"))
                continue
            }
            guard let input = rate(spec["input_cost_per_token"]) else {
                skipped.append((name, "no input_cost_per_token"))
                continue
            }
            let output = rate(spec["output_cost_per_token"]) ?? TokenRate(nanoPerMillion: 0)
            let provider = (spec["litellm_provider"] as? String).map(providerName) ?? "unknown"
            var long: LongContextTier?
            for threshold in ["128k", "200k", "272k"] {
                if let li = rate(spec["input_cost_per_token_above_\(threshold)_tokens"]) {
                    let lo = rate(spec["output_cost_per_token_above_\(threshold)_tokens"]) ?? output
                    let count = Int64(threshold.dropLast())! * 1_000
                    long = LongContextTier(
                        threshold: count, input: li, output: lo,
                        cacheRead: rate(spec["cache_read_input_token_cost_above_\(threshold)_tokens"]))
                    break
                }
            }
            prices.append(
                ModelPrice(
                    provider: provider, model: name, effectiveFrom: effectiveFrom, input: input, output: output,
                    cacheRead: rate(spec["cache_read_input_token_cost"]),
                    cacheWrite5m: rate(spec["cache_creation_input_token_cost"]),
                    cacheWrite1h: rate(spec["cache_creation_input_token_cost_above_1hr"]),
                    longContext: long,
                    batchBasisPoints: ratio(rate(spec["input_cost_per_token_batches"]), input),
                    priorityBasisPoints: ratio(rate(spec["input_cost_per_token_priority"]), input),
                    source: "litellm"
                ))
        }
        return Result(prices: prices, skipped: skipped)
    }

    /// USD per token (a JSON number such as 3e-06) → nano-USD per million tokens, exactly:
    /// the shortest decimal text of the double is the text LiteLLM wrote.
    static func rate(_ value: Any?) -> TokenRate? {
        let text: String
        if let string = value as? String {
            text = string
        } else if let number = value as? NSNumber, number.doubleValue.isFinite {
            text = "\(number.doubleValue)"
        } else {
            return nil
        }
        return DecimalText.scaled(text, decimals: 15).flatMap { $0 <= Bounds.rate ? TokenRate(nanoPerMillion: $0) : nil }
    }

    static func ratio(_ rate: TokenRate?, _ base: TokenRate) -> Int64? {
        guard let rate, base.nanoPerMillion > 0 else { return nil }
        return Int64(clamping: (Int128(rate.nanoPerMillion) * 10_000 + Int128(base.nanoPerMillion / 2)) / Int128(base.nanoPerMillion))
    }

    /// LiteLLM's provider labels → the provider names Strates uses.
    static func providerName(_ label: String) -> String {
        switch label {
        case "openai", "text-completion-openai", "azure": return label == "azure" ? "azure" : "openai"
        case "anthropic": return "anthropic"
        case "gemini", "vertex_ai-language-models", "vertex_ai": return "google"
        default: return label
        }
    }
}
