import StratesCore

/// A streamed OpenAI chat-completions answer carried to an Anthropic Messages client, as the
/// events Anthropic itself would send:
///
/// - the first chunk → `message_start` (usage zero: chat streams give usage only at the end);
/// - `content` deltas → a text block (`content_block_start`, `text_delta`s);
/// - a new `tool_calls` index → the open block stops and a `tool_use` block starts (id, name,
///   `input: {}`); its `arguments` fragments → `input_json_delta`s;
/// - the finish reason closes the open block; the usage chunk and `[DONE]` (or, from a
///   server that sends no `[DONE]`, the end of a stream that gave a finish reason) →
///   `message_delta` with the stop reason and the whole usage, then `message_stop`;
/// - an in-stream `{"error":…}` → an Anthropic `error` event.
///
/// The upstream request asks for `stream_options.include_usage`, so the usage is there.
public struct ChatStreamToMessages: StreamTranslator {
    enum Block: Equatable {
        case text
        case tool(Int64)
    }

    var started = false
    var done = false
    var open: Block?
    var nextBlock = 0
    /// OpenAI tool-call index → Anthropic content-block index.
    var toolBlocks: [Int64: Int] = [:]
    var stopReason: String?
    var usage = Usage()

    public init() {}

    public mutating func translate(_ event: SSEEvent) -> [UInt8] {
        guard !done else { return [] }
        if event.data == Array("[DONE]".utf8) { return end() }
        guard let root = try? JSONView(object: event.data) else { return [] }
        let fields = root.members(["id", "model", "choices", "usage", "error"])
        if let error = fields["error"], error.isObject {
            done = true
            return SSEEncoder.encode(event: "error", data: String(decoding: OpenAIForAnthropic.error(event.data, status: 500), as: UTF8.self))
        }
        var out: [UInt8] = []
        if !started {
            started = true
            let message = [
                #""id":\#(JSONText.quote("msg_" + (fields["id"]?.string ?? "strates")))"#, #""type":"message""#, #""role":"assistant""#,
                #""model":\#(JSONText.quote(fields["model"]?.string ?? ""))"#, #""content":[]"#, #""stop_reason":null"#, #""stop_sequence":null"#,
                #""usage":{"input_tokens":0,"output_tokens":0}"#,
            ]
            out += Self.event("message_start", #"{"type":"message_start","message":{\#(message.joined(separator: ","))}}"#)
        }
        if let counts = fields["usage"], let read = UsageFields.openAIChat(counts) { usage = read }
        guard let choice = fields["choices"]?.elements(limit: 1).first else { return out }
        let parts = choice.members(["delta", "finish_reason", "usage"])
        // Some servers put the usage on the last choice instead of a chunk of its own.
        if let counts = parts["usage"], let read = UsageFields.openAIChat(counts) { usage = read }
        let delta = parts["delta"]?.members(["content", "tool_calls"]) ?? [:]
        if let text = delta["content"]?.string, !text.isEmpty {
            if open != .text { out += openBlock(.text, start: #"{"type":"text","text":""}"#) }
            out += Self.event(
                "content_block_delta",
                #"{"type":"content_block_delta","index":\#(nextBlock - 1),"delta":{"type":"text_delta","text":\#(JSONText.quote(text))}}"#)
        }
        for call in delta["tool_calls"]?.elements() ?? [] {
            let fields = call.members(["index", "id", "function"])
            let index = fields["index"]?.int64 ?? 0
            let function = fields["function"]?.members(["name", "arguments"]) ?? [:]
            if toolBlocks[index] == nil {
                let id = JSONText.quote(fields["id"]?.string ?? "toolu_\(index)")
                out += openBlock(.tool(index), start: #"{"type":"tool_use","id":\#(id),"name":\#(JSONText.quote(function["name"]?.string ?? "")),"input":{}}"#)
                toolBlocks[index] = nextBlock - 1
            }
            if let arguments = function["arguments"]?.string, !arguments.isEmpty, let block = toolBlocks[index] {
                out += Self.event(
                    "content_block_delta",
                    #"{"type":"content_block_delta","index":\#(block),"delta":{"type":"input_json_delta","partial_json":\#(JSONText.quote(arguments))}}"#)
            }
        }
        if let finish = parts["finish_reason"]?.string {
            stopReason = OpenAIForAnthropic.stopReasons[finish] ?? "end_turn"
            out += closeBlock()
        }
        return out
    }

    public mutating func finish() -> [UInt8]? {
        if done { return [] }
        return started && stopReason != nil ? end() : nil
    }

    mutating func end() -> [UInt8] {
        guard started, !done else { return [] }
        done = true
        let counts =
            #"{"input_tokens":\#(usage.input),"output_tokens":\#(usage.output),"cache_read_input_tokens":\#(usage.cacheRead),"cache_creation_input_tokens":0}"#
        return closeBlock()
            + Self.event(
                "message_delta", #"{"type":"message_delta","delta":{"stop_reason":"\#(stopReason ?? "end_turn")","stop_sequence":null},"usage":\#(counts)}"#)
            + Self.event("message_stop", #"{"type":"message_stop"}"#)
    }

    mutating func openBlock(_ block: Block, start: String) -> [UInt8] {
        let out = closeBlock() + Self.event("content_block_start", #"{"type":"content_block_start","index":\#(nextBlock),"content_block":\#(start)}"#)
        open = block
        nextBlock += 1
        return out
    }

    mutating func closeBlock() -> [UInt8] {
        guard open != nil else { return [] }
        open = nil
        return Self.event("content_block_stop", #"{"type":"content_block_stop","index":\#(nextBlock - 1)}"#)
    }

    static func event(_ name: String, _ data: String) -> [UInt8] { SSEEncoder.encode(event: name, data: data) }
}
