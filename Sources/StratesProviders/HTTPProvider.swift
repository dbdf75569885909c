import Logging
import NIOCore
import NIOHTTP1
import StratesCore
import StratesWire

/// How an HTTP upstream is reached and authenticated.
public struct HTTPProviderSettings: Sendable {
    public var name: String
    public var kind: ProviderKind
    /// Base URL including the API version prefix, e.g. `https://api.openai.com/v1`.
    public var baseURL: String
    /// The provider credential; never logged, never returned.
    public var apiKey: Secret?
    /// Header that carries the credential: `authorization` (as `Bearer …`), `x-api-key`, `api-key`, …
    public var authHeader: String
    /// Query parameters appended to every call (Azure-style `api-version`).
    public var query: [(name: String, value: String)]
    /// Headers added to every call (after the client's); their values may be credentials.
    public var headers: [(name: String, value: Secret)]
    /// Time allowed until the response head arrives (for a non-streamed call, the whole generation).
    public var timeout: TimeAmount

    public init(
        name: String, kind: ProviderKind, baseURL: String, apiKey: Secret?, authHeader: String? = nil,
        query: [(name: String, value: String)] = [], headers: [(name: String, value: Secret)] = [],
        timeout: TimeAmount = .seconds(600)
    ) {
        self.name = name
        self.kind = kind
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.apiKey = apiKey
        self.authHeader = (authHeader ?? (kind == .anthropic ? "x-api-key" : "authorization")).lowercased()
        self.query = query
        self.headers = headers
        self.timeout = timeout
    }
}

/// OpenAI, Anthropic and OpenAI-compatible upstreams over HTTP, with pooled connections.
/// Bodies stream through in both directions; nothing is decoded here.
public struct HTTPProvider: Provider {
    public let settings: HTTPProviderSettings
    let client: LoopHTTPClient

    public var name: String { settings.name }
    public var kind: ProviderKind { settings.kind }

    public init(settings: HTTPProviderSettings, client: LoopHTTPClient) {
        self.settings = settings
        self.client = client
    }

    public func send(_ request: UpstreamRequest, logger: Logger) async throws -> UpstreamResponse {
        var target = client.origin.basePath + request.api.upstreamPath
        var query = settings.query.map { "\(Self.percentEncode($0.name))=\(Self.percentEncode($0.value))" }
        if let clientQuery = request.query, !clientQuery.isEmpty { query.append(clientQuery) }
        if !query.isEmpty { target += "?" + query.joined(separator: "&") }
        var headers = HTTPHeaders()
        headers.reserveCapacity(request.headers.count + settings.headers.count + 8)
        headers.add(name: "host", value: client.origin.hostHeader)
        for header in request.headers { headers.add(name: header.name, value: header.value) }
        for header in settings.headers { headers.replaceOrAdd(name: header.name, value: header.value.value) }
        headers.replaceOrAdd(name: "content-type", value: "application/json")
        headers.replaceOrAdd(name: "accept-encoding", value: "identity")
        if request.stream { headers.replaceOrAdd(name: "accept", value: "text/event-stream") }
        if settings.kind == .anthropic, !headers.contains(name: "anthropic-version") {
            headers.add(name: "anthropic-version", value: "2023-06-01")
        }
        if let key = settings.apiKey?.value, !key.isEmpty {
            let value = settings.authHeader == "authorization" ? "Bearer \(key)" : key
            headers.replaceOrAdd(name: settings.authHeader, value: value)
        }
        headers.replaceOrAdd(name: "x-strates-request-id", value: request.requestID)
        headers.replaceOrAdd(name: "content-length", value: String(request.body.count))
        headers.remove(name: "transfer-encoding")
        let head = HTTPRequestHead(version: .http1_1, method: .POST, uri: target, headers: headers)

        let timeout = request.timeout.map { TimeAmount.milliseconds(Int64($0 * 1000)) } ?? settings.timeout
        let response: LoopHTTPClient.Response
        do {
            response = try await client.execute(head, body: ByteBuffer(bytes: request.body), headTimeout: timeout)
        } catch let error as ProviderError {
            if error.isTimeout {
                // The client says which limit ran out: the head's, or the read timeout's
                // silence (which can run out first, before any byte of the head).
                throw ProviderError.timeout("\(settings.name): \(error.detail)")
            }
            throw ProviderError.connect("\(settings.name): \(error)")
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw ProviderError.connect("\(settings.name): \(error)")
        }
        var responseHeaders: [(name: String, value: String)] = []
        responseHeaders.reserveCapacity(response.head.headers.count)
        for header in response.head.headers { responseHeaders.append((header.name, header.value)) }
        return UpstreamResponse(status: Int(response.head.status.code), headers: responseHeaders, body: response.body)
    }

    static func percentEncode(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(Character(Unicode.Scalar(byte)))
            default:
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return out
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
