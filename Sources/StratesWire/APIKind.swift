/// The provider API surfaces Strates serves.
public enum APIKind: String, Sendable, Codable, CaseIterable {
    case chatCompletions = "chat_completions"
    case responses
    case embeddings
    case messages
    case countTokens = "count_tokens"

    /// The shape errors take for a client of this API.
    public var errorFormat: APIFormat {
        switch self {
        case .chatCompletions, .responses, .embeddings: return .openAI
        case .messages, .countTokens: return .anthropic
        }
    }

    /// The path of this API on the upstream, relative to the provider's base URL
    /// (which for OpenAI-style providers ends in `/v1`).
    public var upstreamPath: String {
        switch self {
        case .chatCompletions: return "/chat/completions"
        case .responses: return "/responses"
        case .embeddings: return "/embeddings"
        case .messages: return "/messages"
        case .countTokens: return "/messages/count_tokens"
        }
    }

    /// Clients reach each API at `/v1` + its path, or at the bare path when their base
    /// URL omits the version.
    public static let pathPrefixes = ["/v1", ""]

    /// The request fields that limit output in this API, as its upstreams obey them.
    public var outputLimitFields: [String] {
        switch self {
        case .chatCompletions: return ["max_completion_tokens", "max_tokens"]
        case .responses: return ["max_output_tokens"]
        case .messages, .countTokens: return ["max_tokens"]
        case .embeddings: return []
        }
    }

    public var canStream: Bool {
        switch self {
        case .chatCompletions, .responses, .messages: return true
        case .embeddings, .countTokens: return false
        }
    }
}

/// OpenAI-style or Anthropic-style wire format.
public enum APIFormat: String, Sendable, Codable {
    case openAI = "openai"
    case anthropic
}
