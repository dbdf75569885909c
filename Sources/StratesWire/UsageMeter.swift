import StratesCore

/// Follows one upstream response, streamed or whole, and keeps what metering needs:
/// the upstream's own usage, the model it reports, and enough about the text that
/// passed to estimate usage when a stream is cut before its usage arrives.
public struct UsageMeter: Sendable {
    public let api: APIKind
    /// Usage exactly as the upstream reported it, once it has, believed only while every
    /// count is within bounds (see `usage`).
    public private(set) var reported: Usage?
    public private(set) var responseModel: String?
    public private(set) var responseID: String?
    /// The service tier the provider reported (`service_tier`), if any.
    public private(set) var serviceTier: String?
    /// Bytes of generated text (text, tool arguments, thinking) seen in a stream.
    public private(set) var generatedBytes = 0
    /// True once the stream's final event has arrived (`[DONE]`, `message_stop`, `response.completed`).
    public private(set) var finished = false
    /// An error the upstream reported in the stream (`event: error`, `response.failed`).
    public private(set) var streamError: String?
    /// True when the first content (or any event, for APIs without content) has arrived.
    public private(set) var sawFirstToken = false

    public init(api: APIKind) {
        self.api = api
    }

    /// Reads a whole (non-streamed) response body. Returns false when it is not a JSON object.
    @discardableResult
    public mutating func observe(body: [UInt8]) -> Bool {
        guard let root = try? JSONView(object: body) else { return false }
        let fields = root.members(["usage", "model", "id", "service_tier"])
        responseModel = fields["model"]?.string
        responseID = fields["id"]?.string
        serviceTier = fields["service_tier"]?.string ?? fields["usage"]?["service_tier"]?.string
        if let usageView = fields["usage"] {
            switch api {
            case .chatCompletions, .embeddings: reported = UsageFields.openAIChat(usageView)
            case .responses: reported = UsageFields.openAIResponses(usageView)
            case .messages: reported = UsageFields.anthropic(usageView)
            case .countTokens: reported = nil
            }
        }
        finished = true
        return true
    }

    /// Reads one streamed event. Returns true when the event is the usage-only chunk
    /// of an OpenAI chat stream (`choices: []` with `usage`), which the gateway hides
    /// from clients that did not ask for usage.
    @discardableResult
    public mutating func observe(event: SSEEvent) -> Bool {
        switch api {
        case .chatCompletions: return observeChatChunk(event)
        case .responses: observeResponsesEvent(event)
        case .messages: observeAnthropicEvent(event)
        case .embeddings, .countTokens: break
        }
        return false
    }

    mutating func observeChatChunk(_ event: SSEEvent) -> Bool {
        if event.data == Self.done {
            finished = true
            return false
        }
        guard let root = try? JSONView(object: event.data) else { return false }
        let fields = root.members(["usage", "model", "id", "choices", "error", "service_tier"])
        if responseModel == nil { responseModel = fields["model"]?.string }
        if let tier = fields["service_tier"]?.string { serviceTier = tier }
        if responseID == nil { responseID = fields["id"]?.string }
        if let error = fields["error"], error.isObject {
            streamError = error["message"]?.string ?? "upstream error"
        }
        var choicesEmpty = true
        if let choices = fields["choices"] {
            for choice in choices.elements() {
                choicesEmpty = false
                guard let delta = choice["delta"] else { continue }
                let parts = delta.members(["content", "reasoning_content", "tool_calls", "refusal"])
                let before = generatedBytes
                for key in ["content", "reasoning_content", "refusal"] {
                    if let text = parts[key]?.string { generatedBytes += text.utf8.count }
                }
                if let calls = parts["tool_calls"] {
                    // A tool call's first chunk carries its name: the model's first output.
                    sawFirstToken = true
                    for call in calls.elements() {
                        if let arguments = call.path("function", "arguments")?.string { generatedBytes += arguments.utf8.count }
                    }
                }
                // The opening chunk (role, empty content) is not a token yet.
                if generatedBytes > before { sawFirstToken = true }
            }
        }
        if let usageView = fields["usage"], !usageView.isNull, let parsed = UsageFields.openAIChat(usageView) {
            reported = parsed
            return choicesEmpty
        }
        return false
    }

    mutating func observeResponsesEvent(_ event: SSEEvent) {
        let type = event.event
        guard let root = try? JSONView(object: event.data) else { return }
        let fields = root.members(["type", "delta", "response"])
        let name = type ?? fields["type"]?.string ?? ""
        switch name {
        case "response.output_text.delta", "response.function_call_arguments.delta",
            "response.reasoning_summary_text.delta", "response.reasoning_text.delta",
            "response.refusal.delta", "response.custom_tool_call_input.delta":
            generatedBytes += fields["delta"]?.string?.utf8.count ?? 0
            sawFirstToken = true
        case "response.created", "response.in_progress":
            if let response = fields["response"] {
                responseModel = response["model"]?.string ?? responseModel
                responseID = response["id"]?.string ?? responseID
            }
        case "response.completed", "response.incomplete", "response.failed":
            if let response = fields["response"] {
                let parts = response.members(["usage", "model", "id", "error", "service_tier"])
                responseModel = parts["model"]?.string ?? responseModel
                serviceTier = parts["service_tier"]?.string ?? serviceTier
                responseID = parts["id"]?.string ?? responseID
                if let usageView = parts["usage"], let parsed = UsageFields.openAIResponses(usageView) { reported = parsed }
                if name == "response.failed" { streamError = parts["error"]?["message"]?.string ?? "response failed" }
            }
            finished = true
        case "error":
            streamError = root["message"]?.string ?? root.path("error", "message")?.string ?? "upstream error"
        default:
            if name.hasSuffix(".delta") { sawFirstToken = true }
        }
    }

    mutating func observeAnthropicEvent(_ event: SSEEvent) {
        guard let root = try? JSONView(object: event.data) else { return }
        let fields = root.members(["type", "message", "delta", "usage", "error", "content_block"])
        let name = event.event ?? fields["type"]?.string ?? ""
        switch name {
        case "message_start":
            if let message = fields["message"] {
                let parts = message.members(["usage", "model", "id"])
                responseModel = parts["model"]?.string
                responseID = parts["id"]?.string
                if let usageView = parts["usage"] {
                    reported = UsageFields.anthropic(usageView)
                    serviceTier = usageView["service_tier"]?.string
                }
            }
        case "content_block_delta":
            if let delta = fields["delta"] {
                let parts = delta.members(["text", "partial_json", "thinking"])
                for value in parts.values { generatedBytes += value.string?.utf8.count ?? 0 }
            }
            sawFirstToken = true
        case "content_block_start":
            // An empty text or thinking block opens before any token; a tool call's block
            // carries its name, the model's first output.
            let type = fields["content_block"]?["type"]?.string
            if type != "text" && type != "thinking" && type != "redacted_thinking" { sawFirstToken = true }
        case "message_delta":
            if let usageView = fields["usage"] { reported = UsageFields.anthropic(usageView, base: reported) ?? reported }
        case "message_stop":
            finished = true
        case "error":
            streamError = fields["error"]?["message"]?.string ?? "upstream error"
        default:
            break
        }
    }

    static let done = Array("[DONE]".utf8)

    /// The usage to record when the upstream never reported a complete one: what it did
    /// report (Anthropic's `message_start` has input and cache counts), with output
    /// estimated from the text that passed and input from the request size.
    public func estimatedUsage(inputEstimate: Int64) -> Usage {
        var estimate = usage ?? Usage(input: inputEstimate)
        let outputEstimate = Int64((generatedBytes + 3) / 4)
        estimate.output = max(estimate.output, outputEstimate)
        return estimate
    }

    /// The upstream's usage, when it reported one and every count in it is between 0 and
    /// `Bounds.usageTokensPerRequest`. A negative or absurd count is not believed (it would
    /// record a credit, or break the sums): the request is metered as an estimate instead.
    public var usage: Usage? {
        guard let reported, reported.outOfBounds(Bounds.usageTokensPerRequest) == nil else { return nil }
        return reported
    }

    /// What made the upstream's usage unbelievable, e.g. `output -5`; nil when it is believed or absent.
    public var implausibleUsage: String? { reported?.outOfBounds(Bounds.usageTokensPerRequest) }

    /// Whether `usage` is the upstream's complete, final report.
    public var hasFinalUsage: Bool {
        guard usage != nil else { return false }
        switch api {
        case .messages: return finished
        default: return true
        }
    }
}
