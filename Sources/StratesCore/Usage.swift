/// Token counts of one request, by kind.
///
/// `input` counts only uncached input tokens: cache reads and cache writes are separate
/// kinds, because they are priced differently (Anthropic reports them that way; OpenAI's
/// `prompt_tokens` includes its cached tokens, which the extractor subtracts).
/// `output` counts every output token, reasoning included; `reasoning` is the part of
/// `output` that was reasoning, kept as a detail.
public struct Usage: Hashable, Sendable, Codable {
    public var input: Int64
    public var output: Int64
    public var cacheRead: Int64
    public var cacheWrite5m: Int64
    public var cacheWrite1h: Int64
    public var reasoning: Int64

    public init(
        input: Int64 = 0, output: Int64 = 0, cacheRead: Int64 = 0,
        cacheWrite5m: Int64 = 0, cacheWrite1h: Int64 = 0, reasoning: Int64 = 0
    ) {
        self.input = input
        self.output = output
        self.cacheRead = cacheRead
        self.cacheWrite5m = cacheWrite5m
        self.cacheWrite1h = cacheWrite1h
        self.reasoning = reasoning
    }

    public static let zero = Usage()

    /// Every token the model read: uncached input, cache reads and cache writes.
    public var totalInput: Int64 { input.saturatingAdd(cacheRead).saturatingAdd(cacheWrite5m).saturatingAdd(cacheWrite1h) }
    public var total: Int64 { totalInput.saturatingAdd(output) }
    public var isZero: Bool { self == .zero }

    /// Kind by kind; sums pin at Int64's ends (see `Saturating`).
    public static func + (lhs: Usage, rhs: Usage) -> Usage {
        Usage(
            input: lhs.input.saturatingAdd(rhs.input), output: lhs.output.saturatingAdd(rhs.output),
            cacheRead: lhs.cacheRead.saturatingAdd(rhs.cacheRead), cacheWrite5m: lhs.cacheWrite5m.saturatingAdd(rhs.cacheWrite5m),
            cacheWrite1h: lhs.cacheWrite1h.saturatingAdd(rhs.cacheWrite1h), reasoning: lhs.reasoning.saturatingAdd(rhs.reasoning)
        )
    }

    /// The first count that is negative or above `bound`, as `name value`, or nil when every
    /// kind is within it: an upstream's report is believed only then.
    public func outOfBounds(_ bound: Int64) -> String? {
        let kinds: [(String, Int64)] = [
            ("input", input), ("output", output), ("cache_read", cacheRead), ("cache_write_5m", cacheWrite5m),
            ("cache_write_1h", cacheWrite1h), ("reasoning", reasoning),
        ]
        guard let (name, value) = kinds.first(where: { $0.1 < 0 || $0.1 > bound }) else { return nil }
        return "\(name) \(value)"
    }

    public static func += (lhs: inout Usage, rhs: Usage) { lhs = lhs + rhs }
}

/// The kinds of tokens that carry their own price.
public enum TokenKind: String, CaseIterable, Sendable, Codable {
    case input, output
    case cacheRead = "cache_read"
    case cacheWrite5m = "cache_write_5m"
    case cacheWrite1h = "cache_write_1h"
    case reasoning
}
