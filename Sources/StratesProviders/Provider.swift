import Logging
import NIOCore
import StratesWire

/// One model call as it leaves Strates for an upstream.
public struct UpstreamRequest: Sendable {
    public var api: APIKind
    /// The body to send, already carrying the served model id.
    public var body: [UInt8]
    /// Client headers to pass on (already stripped of credentials and hop-by-hop fields).
    public var headers: [(name: String, value: String)]
    public var stream: Bool
    public var model: String
    /// Strates' own id for the request, sent upstream as `x-strates-request-id`.
    public var requestID: String
    /// The client's query string, passed on as sent (Claude Code adds `beta=true`).
    public var query: String?
    /// Seconds to wait for the response head, when the route sets it for this deployment.
    public var timeout: Double?

    public init(
        api: APIKind, body: [UInt8], headers: [(name: String, value: String)], stream: Bool, model: String, requestID: String, query: String? = nil,
        timeout: Double? = nil
    ) {
        self.api = api
        self.body = body
        self.headers = headers
        self.stream = stream
        self.model = model
        self.requestID = requestID
        self.query = query
        self.timeout = timeout
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name }?.value
    }
}

/// An upstream's answer: status and headers at once, the body as it arrives.
public struct UpstreamResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: UpstreamBody

    public init(status: Int, headers: [(name: String, value: String)], body: UpstreamBody) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name }?.value
    }
}

/// The kinds of upstream Strates can call.
public enum ProviderKind: String, Sendable, Codable, CaseIterable {
    case openAI = "openai"
    case anthropic
    case openAICompatible = "openai_compatible"
    case sim

    /// The APIs an upstream of this kind serves natively.
    public func supports(_ api: APIKind) -> Bool {
        switch self {
        case .sim: return true
        case .anthropic: return api == .messages || api == .countTokens
        case .openAI: return api == .chatCompletions || api == .responses || api == .embeddings
        case .openAICompatible: return api == .chatCompletions || api == .responses || api == .embeddings
        }
    }
}

/// An upstream model provider. Streaming and whole responses go through the same call:
/// the body is always delivered as it arrives.
public protocol Provider: Sendable {
    var name: String { get }
    var kind: ProviderKind { get }
    func send(_ request: UpstreamRequest, logger: Logger) async throws -> UpstreamResponse
}

/// Why an upstream call failed before it produced a response.
public struct ProviderError: Error, CustomStringConvertible, Sendable {
    private enum Base: Sendable {
        case connect(String)
        case timeout(String)
        case missingCredentials(String)
        case other(String)
    }

    private let base: Base
    private var firstToken = false

    private init(base: Base, firstToken: Bool = false) {
        self.base = base
        self.firstToken = firstToken
    }

    public static func connect(_ detail: String) -> ProviderError { ProviderError(base: .connect(detail)) }
    public static func timeout(_ detail: String) -> ProviderError { ProviderError(base: .timeout(detail)) }
    /// A stream whose first token did not come in time (a kind of timeout).
    public static func firstTokenTimeout(_ detail: String) -> ProviderError { ProviderError(base: .timeout(detail), firstToken: true) }
    public static func missingCredentials(_ detail: String) -> ProviderError { ProviderError(base: .missingCredentials(detail)) }
    public static func other(_ detail: String) -> ProviderError { ProviderError(base: .other(detail)) }

    public var isTimeout: Bool { if case .timeout = base { return true } else { return false } }
    /// What happened, without the kind's preamble.
    public var detail: String {
        switch base {
        case .connect(let detail), .timeout(let detail), .missingCredentials(let detail), .other(let detail): return detail
        }
    }
    public var isFirstTokenTimeout: Bool { firstToken }
    public var isConnect: Bool { if case .connect = base { return true } else { return false } }

    public var description: String {
        switch base {
        case .connect(let detail): return "could not connect to the provider: \(detail)"
        case .timeout(let detail): return "the provider did not answer in time: \(detail)"
        case .missingCredentials(let detail): return "no credentials for the provider: \(detail)"
        case .other(let detail): return detail
        }
    }
}
