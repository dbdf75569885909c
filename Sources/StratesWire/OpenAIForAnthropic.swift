import Foundation
import StratesCore

/// Serves an Anthropic messages client from an OpenAI-format model: the request carried
/// into chat completions, the answer and errors carried back. Thinking blocks in the history
/// are left out (only Anthropic models read them back); what has no OpenAI equivalent (top_k,
/// documents, server tools, more than four stop sequences) is refused naming the field.
public enum OpenAIForAnthropic {
    static let known: Set<String> = [
        "model", "messages", "system", "max_tokens", "temperature", "top_p", "top_k", "stop_sequences", "stream", "tools", "tool_choice",
        "thinking", "metadata", "service_tier",
    ]

    public static func request(_ body: [UInt8], model: String) throws(TranslationError) -> [UInt8] {
        guard (try? JSONSerialization.jsonObject(with: Data(body))) is [String: Any], let root = try? JSONView(object: body) else {
            throw TranslationError("The request body is not a valid JSON object.")
        }
        let fields = root.members()
        for key in fields.keys.sorted() where !known.contains(key) {
            throw TranslationError(
                "'\(key)' has no equivalent on OpenAI-format models, which serve this request; remove it or ask for a Claude model.", param: key)
        }
        if let topK = fields["top_k"], !topK.isNull { throw TranslationError("'top_k' has no equivalent on OpenAI-format models.", param: "top_k") }
        if let tier = fields["service_tier"]?.string, tier != "auto" {
            throw TranslationError("service_tier '\(tier)' has no equivalent on OpenAI-format models.", param: "service_tier")
        }
        var out: [String] = [#""model":\#(JSONText.quote(model))"#]
        var messages: [String] = []
        if let system = fields["system"], !system.isNull {
            let text = system.string ?? system.elements().compactMap { $0["text"]?.string }.joined(separator: "\n")
            messages.append(#"{"role":"system","content":\#(JSONText.quote(text))}"#)
        }
        guard let list = fields["messages"], list.isArray else { throw TranslationError("'messages' must be a list of messages.", param: "messages") }
        for (index, message) in list.elements().enumerated() {
            messages += try translate(message, param: "messages[\(index)]")
        }
        out.append(#""messages":[\#(messages.joined(separator: ","))]"#)
        if let value = fields["max_tokens"], let tokens = value.int64 { out.append(#""max_completion_tokens":\#(tokens)"#) }
        for key in ["temperature", "top_p"] {
            if let value = fields[key], !value.isNull { out.append(#""\#(key)":\#(raw(value))"#) }
        }
        if let stops = fields["stop_sequences"], stops.isArray {
            let list = stops.elements().compactMap(\.string)
            guard list.count <= 4 else {
                throw TranslationError("OpenAI-format models take at most 4 stop sequences, and this request has \(list.count).", param: "stop_sequences")
            }
            if !list.isEmpty { out.append(#""stop":[\#(list.map(JSONText.quote).joined(separator: ","))]"#) }
        }
        if let value = fields["stream"], value.bool == true { out.append(#""stream":true,"stream_options":{"include_usage":true}"#) }
        if let tools = fields["tools"], tools.isArray {
            var list: [String] = []
            for (index, tool) in tools.elements().enumerated() {
                guard let name = tool["name"]?.string, let schema = tool["input_schema"], tool["type"].map({ $0.string == "custom" }) ?? true else {
                    throw TranslationError(
                        "tools[\(index)]: only client tools with an input_schema can be carried to an OpenAI-format model (not server tools such as web search).",
                        param: "tools")
                }
                let description = tool["description"]?.string.map { #","description":\#(JSONText.quote($0))"# } ?? ""
                list.append(#"{"type":"function","function":{"name":\#(JSONText.quote(name))\#(description),"parameters":\#(raw(schema))}}"#)
            }
            out.append(#""tools":[\#(list.joined(separator: ","))]"#)
        }
        if let choice = fields["tool_choice"], !choice.isNull {
            switch choice["type"]?.string {
            case "auto": out.append(#""tool_choice":"auto""#)
            case "any": out.append(#""tool_choice":"required""#)
            case "none": out.append(#""tool_choice":"none""#)
            case "tool":
                guard let name = choice["name"]?.string else { throw TranslationError("'tool_choice' of type tool needs a 'name'.", param: "tool_choice") }
                out.append(#""tool_choice":{"type":"function","function":{"name":\#(JSONText.quote(name))}}"#)
            default: throw TranslationError("'tool_choice' must be auto, any, none or tool.", param: "tool_choice")
            }
            if choice["disable_parallel_tool_use"]?.bool == true { out.append(#""parallel_tool_calls":false"#) }
        }
        if let thinking = fields["thinking"], thinking["type"]?.string == "enabled" {
            let budget = thinking["budget_tokens"]?.int64 ?? 4_096
            out.append(#""reasoning_effort":"\#(budget < 2_048 ? "low" : budget < 8_192 ? "medium" : "high")""#)
        }
        if let user = fields["metadata"]?["user_id"]?.string { out.append(#""user":\#(JSONText.quote(user))"#) }
        return Array(("{" + out.joined(separator: ",") + "}").utf8)
    }

    /// One Anthropic message as OpenAI messages: a user turn's tool results become `tool`
    /// messages (first, as OpenAI wants them right after the assistant's calls).
    static func translate(_ message: JSONView, param: String) throws(TranslationError) -> [String] {
        let role = message["role"]?.string
        guard role == "user" || role == "assistant" else { throw TranslationError("\(param): 'role' must be user or assistant.", param: param) }
        guard let content = message["content"] else { throw TranslationError("\(param): a message needs 'content'.", param: param) }
        if let text = content.string { return [#"{"role":"\#(role!)","content":\#(JSONText.quote(text))}"#] }
        var texts: [String] = []
        var parts: [String] = []
        var calls: [String] = []
        var results: [String] = []
        for (index, block) in content.elements().enumerated() {
            let blockParam = "\(param).content[\(index)]"
            switch block["type"]?.string {
            case "text":
                let text = block["text"]?.string ?? ""
                texts.append(text)
                parts.append(#"{"type":"text","text":\#(JSONText.quote(text))}"#)
            case "image" where role == "user":
                parts.append(try imagePart(block, param: blockParam))
            case "tool_use" where role == "assistant":
                guard let id = block["id"]?.string, let name = block["name"]?.string else {
                    throw TranslationError("\(blockParam): a tool_use block needs 'id' and 'name'.", param: param)
                }
                let input = block["input"].map(raw) ?? "{}"
                calls.append(
                    #"{"id":\#(JSONText.quote(id)),"type":"function","function":{"name":\#(JSONText.quote(name)),"arguments":\#(JSONText.quote(input))}}"#)
            case "tool_result" where role == "user":
                guard let id = block["tool_use_id"]?.string else { throw TranslationError("\(blockParam): a tool_result needs 'tool_use_id'.", param: param) }
                let result = block["content"]
                let text =
                    result?.string ?? result?.elements().compactMap { $0["type"]?.string == "text" ? $0["text"]?.string : nil }.joined(separator: "\n") ?? ""
                results.append(#"{"role":"tool","tool_call_id":\#(JSONText.quote(id)),"content":\#(JSONText.quote(text))}"#)
            case "thinking", "redacted_thinking":
                continue
            case let other:
                throw TranslationError("\(blockParam): '\(other ?? "unknown")' blocks cannot be carried to an OpenAI-format model.", param: param)
            }
        }
        if role == "assistant" {
            let text = texts.isEmpty ? "null" : JSONText.quote(texts.joined())
            let toolCalls = calls.isEmpty ? "" : #","tool_calls":[\#(calls.joined(separator: ","))]"#
            return [#"{"role":"assistant","content":\#(text)\#(toolCalls)}"#]
        }
        return results + (parts.isEmpty ? [] : [#"{"role":"user","content":[\#(parts.joined(separator: ","))]}"#])
    }

    static func imagePart(_ block: JSONView, param: String) throws(TranslationError) -> String {
        let source = block["source"]
        switch source?["type"]?.string {
        case "base64":
            guard let media = source?["media_type"]?.string, let data = source?["data"]?.string else {
                throw TranslationError("\(param): a base64 image needs 'media_type' and 'data'.", param: param)
            }
            return #"{"type":"image_url","image_url":{"url":\#(JSONText.quote("data:\(media);base64,\(data)"))}}"#
        case "url":
            guard let url = source?["url"]?.string else { throw TranslationError("\(param): a URL image needs its 'url'.", param: param) }
            return #"{"type":"image_url","image_url":{"url":\#(JSONText.quote(url))}}"#
        default:
            throw TranslationError("\(param): only base64 and URL images can be carried to an OpenAI-format model.", param: param)
        }
    }

    static let stopReasons = ["stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use", "function_call": "tool_use", "content_filter": "refusal"]

    /// The Anthropic message for an OpenAI chat completion.
    public static func response(_ body: [UInt8]) throws(TranslationError) -> [UInt8] {
        guard (try? JSONSerialization.jsonObject(with: Data(body))) is [String: Any], let root = try? JSONView(object: body) else {
            throw TranslationError("The OpenAI-format model's answer was not a valid JSON object.")
        }
        let fields = root.members(["id", "model", "choices", "usage"])
        let choice = fields["choices"]?.elements(limit: 1).first
        let message = choice?["message"]
        var blocks: [String] = []
        if let text = message?["content"]?.string, !text.isEmpty { blocks.append(#"{"type":"text","text":\#(JSONText.quote(text))}"#) }
        for call in message?["tool_calls"]?.elements() ?? [] {
            let arguments = call.path("function", "arguments")?.string ?? "{}"
            let input = Array((arguments.isEmpty ? "{}" : arguments).utf8)
            guard (try? JSONSerialization.jsonObject(with: Data(input))) is [String: Any] else {
                throw TranslationError("The model's tool call arguments were not a JSON object.")
            }
            blocks.append(
                #"{"type":"tool_use","id":\#(JSONText.quote(call["id"]?.string ?? "")),"name":\#(JSONText.quote(call.path("function", "name")?.string ?? "")),"input":\#(String(decoding: input, as: UTF8.self))}"#
            )
        }
        let stop = stopReasons[choice?["finish_reason"]?.string ?? "stop"] ?? "end_turn"
        let usage = fields["usage"].flatMap { UsageFields.openAIChat($0) } ?? .zero
        let out = [
            #""id":\#(JSONText.quote("msg_" + (fields["id"]?.string ?? "strates")))"#, #""type":"message""#, #""role":"assistant""#,
            #""model":\#(JSONText.quote(fields["model"]?.string ?? ""))"#, #""content":[\#(blocks.joined(separator: ","))]"#,
            #""stop_reason":"\#(stop)""#, #""stop_sequence":null"#,
            #""usage":{"input_tokens":\#(usage.input),"output_tokens":\#(usage.output),"cache_read_input_tokens":\#(usage.cacheRead),"cache_creation_input_tokens":0}"#,
        ]
        return Array(("{" + out.joined(separator: ",") + "}").utf8)
    }

    /// An OpenAI error body in Anthropic's error shape (the status stays the provider's).
    public static func error(_ body: [UInt8], status: Int) -> [UInt8] {
        let root = try? JSONView(object: body)
        let message = root?.path("error", "message")?.string ?? String(decoding: body.prefix(300), as: UTF8.self)
        let type: String =
            switch status {
            case 400, 413, 422: "invalid_request_error"
            case 401: "authentication_error"
            case 403: "permission_error"
            case 404: "not_found_error"
            case 429: "rate_limit_error"
            case 529, 503: "overloaded_error"
            default: "api_error"
            }
        return Array(#"{"type":"error","error":{"type":"\#(type)","message":\#(JSONText.quote(message))}}"#.utf8)
    }

    static func raw(_ view: JSONView) -> String { String(decoding: view.bytes[view.range], as: UTF8.self) }
}
