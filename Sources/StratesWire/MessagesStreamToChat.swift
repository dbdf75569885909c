import StratesCore

/// Rewrites a streamed answer, one upstream event at a time, into the client's format.
/// The gateway meters the upstream's own events; a translator only shapes what the client reads.
public protocol StreamTranslator: Sendable {
    /// The client's bytes for one upstream event (often none: pings, block ends).
    mutating func translate(_ event: SSEEvent) -> [UInt8]
    /// Closes a stream the upstream ended without its final marker, when it had said all it
    /// had to say (a finish reason); nil when the answer is incomplete and the client must
    /// be told so.
    mutating func finish() -> [UInt8]?
}

/// A streamed Anthropic Messages answer carried to an OpenAI chat-completions client, as the
/// chat chunks OpenAI itself would send:
///
/// - `message_start` → the first chunk, `{"role":"assistant","content":""}`;
/// - text deltas → `content` deltas; thinking has no place in a chat answer and is dropped;
/// - a `tool_use` block → a `tool_calls` entry (id, name, empty arguments), its
///   `input_json_delta`s → `arguments` fragments of the same call index;
/// - `message_delta` → the chunk with the finish reason;
/// - `message_stop` → the usage chunk (`choices: []`, only when the client asked with
///   `stream_options.include_usage`), then `data: [DONE]`;
/// - an `error` event → OpenAI's in-stream error, `data: {"error":{…}}`.
public struct MessagesStreamToChat: StreamTranslator {
    let includeUsage: Bool
    let created: Int64
    var id = "chatcmpl-strates"
    var model = ""
    var usage = Usage()
    /// Anthropic content-block index → OpenAI tool-call index.
    var toolCalls: [Int64: Int] = [:]
    var done = false

    public init(includeUsage: Bool, created: Int64) {
        self.includeUsage = includeUsage
        self.created = created
    }

    public mutating func translate(_ event: SSEEvent) -> [UInt8] {
        guard !done, let root = try? JSONView(object: event.data) else { return [] }
        switch root["type"]?.string {
        case "message_start":
            let message = root["message"]?.members(["id", "model", "usage"]) ?? [:]
            id = "chatcmpl-" + (message["id"]?.string ?? "strates")
            model = message["model"]?.string ?? ""
            usage = message["usage"].flatMap { UsageFields.anthropic($0) } ?? Usage()
            return chunk(#"{"role":"assistant","content":""}"#)
        case "content_block_start":
            let fields = root.members(["index", "content_block"])
            guard let block = fields["content_block"], block["type"]?.string == "tool_use", let index = fields["index"]?.int64 else { return [] }
            let call = toolCalls.count
            toolCalls[index] = call
            let name = JSONText.quote(block["name"]?.string ?? "")
            return chunk(
                #"{"tool_calls":[{"index":\#(call),"id":\#(JSONText.quote(block["id"]?.string ?? "")),"type":"function","function":{"name":\#(name),"arguments":""}}]}"#
            )
        case "content_block_delta":
            let fields = root.members(["index", "delta"])
            guard let delta = fields["delta"] else { return [] }
            switch delta["type"]?.string {
            case "text_delta":
                guard let text = delta["text"]?.string, !text.isEmpty else { return [] }
                return chunk(#"{"content":\#(JSONText.quote(text))}"#)
            case "input_json_delta":
                guard let index = fields["index"]?.int64, let call = toolCalls[index], let part = delta["partial_json"]?.string, !part.isEmpty else {
                    return []
                }
                return chunk(#"{"tool_calls":[{"index":\#(call),"function":{"arguments":\#(JSONText.quote(part))}}]}"#)
            default:
                return []
            }
        case "message_delta":
            let fields = root.members(["delta", "usage"])
            if let counts = fields["usage"] { usage = UsageFields.anthropic(counts, base: usage) ?? usage }
            let stop = fields["delta"]?["stop_reason"]?.string ?? "end_turn"
            return chunk("{}", finish: MessagesToChat.finishReasons[stop] ?? "stop")
        case "message_stop":
            done = true
            var out: [UInt8] = []
            if includeUsage {
                out += SSEEncoder.encode(
                    data:
                        #"{"id":\#(JSONText.quote(id)),"object":"chat.completion.chunk","created":\#(created),"model":\#(JSONText.quote(model)),"choices":[],"usage":\#(MessagesToChat.chatUsage(usage))}"#
                )
            }
            return out + SSEEncoder.encode(data: "[DONE]")
        case "error":
            done = true
            return SSEEncoder.encode(data: String(decoding: MessagesToChat.error(event.data, status: 500), as: UTF8.self))
        default:
            return []
        }
    }

    public mutating func finish() -> [UInt8]? { done ? [] : nil }

    func chunk(_ delta: String, finish: String? = nil) -> [UInt8] {
        let reason = finish.map { "\"\($0)\"" } ?? "null"
        return SSEEncoder.encode(
            data:
                #"{"id":\#(JSONText.quote(id)),"object":"chat.completion.chunk","created":\#(created),"model":\#(JSONText.quote(model)),"choices":[{"index":0,"delta":\#(delta),"logprobs":null,"finish_reason":\#(reason)}]}"#
        )
    }
}
