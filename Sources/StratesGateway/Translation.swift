import Foundation
import StratesProviders
import StratesWire

/// How a request reaches a deployment and its answer comes back: as the client sent it, or
/// carried across formats — OpenAI chat completions to an Anthropic model, Anthropic
/// messages to an OpenAI-format model, streamed or not. Chosen once per deployment (when
/// its request is built) and carried with the answer, so every later step asks it rather
/// than deciding again.
enum Translation: Sendable, Equatable {
    /// The provider speaks the client's API.
    case none
    /// An OpenAI chat client, an Anthropic provider.
    case chatToMessages
    /// An Anthropic messages client, an OpenAI-format provider.
    case messagesToChat

    /// How a client of `api` reaches a provider of `kind`; nil when it cannot.
    init?(client api: APIKind, provider kind: ProviderKind) {
        if kind.supports(api) {
            self = .none
        } else if api == .chatCompletions, kind.supports(.messages) {
            self = .chatToMessages
        } else if api == .messages, kind.supports(.chatCompletions) {
            self = .messagesToChat
        } else {
            return nil
        }
    }

    /// True when a provider of `kind` can serve a client of `api`, natively or carried.
    static func serves(_ api: APIKind, by kind: ProviderKind) -> Bool {
        Translation(client: api, provider: kind) != nil
    }

    var isCarried: Bool { self != .none }

    /// The API the upstream is called in, and answers in.
    func upstreamAPI(client api: APIKind) -> APIKind {
        switch self {
        case .none: api
        case .chatToMessages: .messages
        case .messagesToChat: .chatCompletions
        }
    }

    /// The client's body in the upstream's API, for `model`. A native body is left alone
    /// (the caller replaces its model in place).
    func request(_ body: [UInt8], model: String, defaultMaxTokens: Int64) throws(TranslationError) -> [UInt8] {
        switch self {
        case .none: body
        case .chatToMessages: try ChatToMessages.translate(body, model: model, defaultMaxTokens: defaultMaxTokens)
        case .messagesToChat: try OpenAIForAnthropic.request(body, model: model)
        }
    }

    /// A whole successful answer in the client's API.
    func answer(_ bytes: [UInt8]) throws(TranslationError) -> [UInt8] {
        switch self {
        case .none: bytes
        case .chatToMessages: try MessagesToChat.response(bytes, created: Int64(Date().timeIntervalSince1970))
        case .messagesToChat: try OpenAIForAnthropic.response(bytes)
        }
    }

    /// The provider's error body in the client's API.
    func error(_ bytes: [UInt8], status: Int) -> [UInt8] {
        switch self {
        case .none: bytes
        case .chatToMessages: MessagesToChat.error(bytes, status: status)
        case .messagesToChat: OpenAIForAnthropic.error(bytes, status: status)
        }
    }

    /// What rewrites a carried stream, event by event, into the client's format.
    func streamTranslator(includeUsage: Bool) -> (any StreamTranslator)? {
        switch self {
        case .none: nil
        case .chatToMessages: MessagesStreamToChat(includeUsage: includeUsage, created: Int64(Date().timeIntervalSince1970))
        case .messagesToChat: ChatStreamToMessages()
        }
    }
}
