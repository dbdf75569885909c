import StratesCore

/// What the gateway reads from a client's request body; everything else is forwarded untouched.
public struct RequestSummary: Sendable, Equatable {
    public var model: String
    public var stream: Bool
    /// The most output the upstream will produce: the value of the API's own limit field
    /// (`max_tokens`, `max_completion_tokens` or `max_output_tokens`, see
    /// `APIKind.outputLimitFields`); nil when the request sets none of them.
    public var maxTokens: Int64?
    /// The field `maxTokens` was read from, for errors that name it.
    public var maxTokensField: String?
    /// The request offers tools (a non-empty `tools` array).
    public var hasTools: Bool = false
    /// The reasoning asked for: OpenAI's effort (`reasoning_effort`, `reasoning.effort`) or
    /// `enabled` for Anthropic's extended thinking.
    public var reasoning: String?
    /// OpenAI `user` (or `safety_identifier`).
    public var user: String?
    /// Anthropic `metadata.user_id`.
    public var metadataUserID: String?
    /// OpenAI `metadata`: string values only, as the API allows.
    public var metadata: [String: String]
    /// Whether the client itself asked for `stream_options.include_usage`.
    public var clientIncludesUsage: Bool
    public var serviceTier: String?
    /// Byte range of the `model` value (quotes included), for splicing a served model id in.
    public var modelRange: Range<Int>?
    public var streamOptionsRange: Range<Int>?
    /// The request body's size, for input estimates before the upstream reports usage.
    public var bodyBytes: Int

    /// Input tokens estimated from the body size (about four bytes a token); used only
    /// where the upstream never reported usage.
    public var estimatedInputTokens: Int64 { Int64(max(1, bodyBytes / 4)) }
}

public struct RequestBodyError: Error, Equatable, CustomStringConvertible {
    public var message: String
    public var param: String?
    public var description: String { message }
}

extension RequestSummary {
    static let outputLimitKeys = ["max_tokens", "max_completion_tokens", "max_output_tokens"]

    static let wanted: [String] = [
        "model", "stream", "max_tokens", "max_completion_tokens", "max_output_tokens", "user",
        "safety_identifier", "metadata", "stream_options", "service_tier", "tools", "reasoning_effort", "reasoning", "thinking",
    ]

    /// Reads the fields Strates needs from a request body of the given API, checking that
    /// the body is a JSON object and that those fields have the right types.
    public static func inspect(_ body: [UInt8], api: APIKind) throws(RequestBodyError) -> RequestSummary {
        var members: [String: Range<Int>] = [:]
        do {
            try body.withUnsafeBytes { raw in
                var scanner = JSONScanner(raw)
                members = try scanner.objectMembers(keys: wanted)
                try scanner.expectEnd()
            }
        } catch let error as JSONScanner.Error {
            throw RequestBodyError(message: "The request body is not valid JSON (\(error)). Send a JSON object.")
        } catch {
            throw RequestBodyError(message: "The request body is not valid JSON. Send a JSON object.")
        }
        func view(_ key: String) -> JSONView? { members[key].map { JSONView(bytes: body, range: $0) } }

        guard let modelView = view("model") else {
            throw RequestBodyError(message: "The request has no 'model'. Name the model to use, e.g. \"model\": \"gpt-4o-mini\".", param: "model")
        }
        guard let model = modelView.string, !model.isEmpty else {
            throw RequestBodyError(message: "'model' must be a non-empty string.", param: "model")
        }
        guard model.utf8.count <= Bounds.modelNameBytes else {
            throw RequestBodyError(message: "'model' is \(model.utf8.count) bytes long; a model name has at most \(Bounds.modelNameBytes).", param: "model")
        }
        var stream = false
        if let value = view("stream"), !value.isNull {
            guard let flag = value.bool else { throw RequestBodyError(message: "'stream' must be true or false.", param: "stream") }
            stream = flag && api.canStream
        }
        // Every limit given must agree: an upstream obeys one of them (which one depends on
        // the upstream), and the one reserved against budgets must be the one it obeys.
        var limits: [(key: String, value: Int64)] = []
        for key in outputLimitKeys {
            guard let value = view(key), !value.isNull else { continue }
            guard let number = value.int64, number >= 0 else {
                throw RequestBodyError(message: "'\(key)' must be a non-negative integer.", param: key)
            }
            if let first = limits.first, first.value != number {
                throw RequestBodyError(
                    message:
                        "'\(first.key)' (\(first.value)) and '\(key)' (\(number)) disagree: upstreams obey one or the other, so send one output limit (or the same value in both).",
                    param: key
                )
            }
            limits.append((key, number))
        }
        // A field of another API's (say `max_output_tokens` on a chat request) limits nothing upstream.
        let obeyed = limits.first { api.outputLimitFields.contains($0.key) }
        var metadata: [String: String] = [:]
        var metadataUserID: String?
        if let value = view("metadata"), value.isObject {
            for (key, member) in value.members() {
                if let text = member.string { metadata[key] = text }
            }
            if api.errorFormat == .anthropic { metadataUserID = metadata["user_id"] }
        }
        var includesUsage = false
        if let options = view("stream_options"), options.isObject {
            includesUsage = options["include_usage"]?.bool ?? false
        }
        var reasoning = view("reasoning_effort")?.string ?? view("reasoning")?["effort"]?.string
        if reasoning == nil, let thinking = view("thinking"), thinking["type"]?.string == "enabled" { reasoning = "enabled" }
        let tools = view("tools")
        return RequestSummary(
            model: model, stream: stream, maxTokens: obeyed?.value, maxTokensField: obeyed?.key,
            hasTools: tools.map { !$0.elements(limit: 1).isEmpty } ?? false, reasoning: reasoning,
            user: view("user")?.string ?? view("safety_identifier")?.string,
            metadataUserID: metadataUserID, metadata: metadata, clientIncludesUsage: includesUsage,
            serviceTier: view("service_tier")?.string, modelRange: members["model"],
            streamOptionsRange: members["stream_options"], bodyBytes: body.count
        )
    }
}

extension RequestSummary {
    /// Whether the body carries an image anywhere (OpenAI `image_url` / `input_image`,
    /// Anthropic `"type": "image"`): a byte search, run only when a routing rule asks.
    public static func mentionsImages(_ body: [UInt8]) -> Bool {
        let needles = [#""image_url""#, #""input_image""#, #""type":"image""#, #""type": "image""#].map { Array($0.utf8) }
        return body.withUnsafeBufferPointer { haystack in
            needles.contains { needle in
                guard haystack.count >= needle.count else { return false }
                var index = 0
                while index <= haystack.count - needle.count {
                    if haystack[index] == needle[0] && haystack[index..<(index + needle.count)].elementsEqual(needle) { return true }
                    index += 1
                }
                return false
            }
        }
    }
}
