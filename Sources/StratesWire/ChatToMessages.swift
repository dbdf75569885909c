import Foundation
import StratesCore

/// Why a request cannot be carried into another API's format: a 400 naming the field.
public struct TranslationError: Error, Equatable, CustomStringConvertible {
    public var message: String
    public var param: String?

    public init(_ message: String, param: String? = nil) {
        self.message = message
        self.param = param
    }

    public var description: String { message }
}

/// Carries an OpenAI chat-completions request into an Anthropic messages request, for a
/// client speaking OpenAI served by an Anthropic model: system and developer messages become
/// `system`, tool calls and tool results become `tool_use` and `tool_result` blocks, images
/// become image blocks, and the sampling, stop, tool and reasoning settings their Anthropic
/// equivalents. What has no equivalent fails with a clear error, never silently.
/// JSON values that need no change (tool schemas, tool-call arguments) are copied as sent.
public enum ChatToMessages {
    /// Top-level fields that need no counterpart (Strates reads `metadata` itself).
    static let ignored: Set<String> = ["model", "messages", "stream_options", "metadata", "store", "user", "service_tier"]
    static let mapped: Set<String> = [
        "max_tokens", "max_completion_tokens", "temperature", "top_p", "stop", "stream", "tools", "tool_choice", "parallel_tool_calls",
        "reasoning_effort", "response_format", "n", "logprobs", "top_logprobs", "presence_penalty", "frequency_penalty",
    ]

    /// The Anthropic request body for `body`, asking for `model`; `defaultMaxTokens` when the
    /// request sets none (Anthropic requires one).
    public static func translate(_ body: [UInt8], model: String, defaultMaxTokens: Int64 = 4_096) throws(TranslationError) -> [UInt8] {
        // Parts of the body are copied as sent (schemas, arguments, numbers), so all of it must be
        // valid JSON, not only the parts Strates reads.
        guard (try? JSONSerialization.jsonObject(with: Data(body))) is [String: Any], let root = try? JSONView(object: body) else {
            throw TranslationError("The request body is not a valid JSON object.")
        }
        let fields = root.members()
        for key in fields.keys.sorted() where !ignored.contains(key) && !mapped.contains(key) {
            throw TranslationError(
                "'\(key)' has no equivalent on Anthropic models, which serve this request; remove it or ask for an OpenAI model.", param: key)
        }
        try refuseUnsupported(fields)

        var out: [String] = [#""model":\#(JSONText.quote(model))"#]
        let (system, messages) = try translateMessages(fields["messages"])
        if let system { out.append(#""system":\#(JSONText.quote(system))"#) }
        out.append(#""messages":[\#(messages.joined(separator: ","))]"#)

        var maxTokens = defaultMaxTokens
        for key in ["max_tokens", "max_completion_tokens"] {
            guard let value = fields[key], !value.isNull else { continue }
            guard let number = value.int64, number > 0 else { throw TranslationError("'\(key)' must be a positive integer.", param: key) }
            maxTokens = number
        }
        if let effort = fields["reasoning_effort"]?.string {
            let budgets: [String: Int64] = ["minimal": 1_024, "low": 1_024, "medium": 4_096, "high": 16_384]
            guard let budget = budgets[effort] else {
                throw TranslationError("'reasoning_effort' must be minimal, low, medium or high.", param: "reasoning_effort")
            }
            guard maxTokens > budget else {
                throw TranslationError(
                    "reasoning_effort '\(effort)' gives the Anthropic model a thinking budget of \(budget) tokens, which must be below max_tokens (\(maxTokens)); raise max_completion_tokens.",
                    param: "reasoning_effort")
            }
            out.append(#""thinking":{"type":"enabled","budget_tokens":\#(budget)}"#)
        }
        out.append(#""max_tokens":\#(maxTokens)"#)
        if let value = fields["temperature"], !value.isNull {
            guard let temperature = number(value), temperature >= 0 else { throw TranslationError("'temperature' must be a number.", param: "temperature") }
            guard temperature <= 1 else {
                throw TranslationError("temperature \(raw(value)) is above 1, the most Anthropic models accept; use a value from 0 to 1.", param: "temperature")
            }
            out.append(#""temperature":\#(raw(value))"#)
        }
        if let value = fields["top_p"], !value.isNull { out.append(#""top_p":\#(raw(value))"#) }
        if let value = fields["stop"], !value.isNull {
            let stops = value.isArray ? value.elements().compactMap(\.string) : value.string.map { [$0] } ?? []
            guard !stops.isEmpty || value.isArray else { throw TranslationError("'stop' must be a string or a list of strings.", param: "stop") }
            out.append(#""stop_sequences":[\#(stops.map(JSONText.quote).joined(separator: ","))]"#)
        }
        if let value = fields["stream"], value.bool == true { out.append(#""stream":true"#) }
        if let tools = fields["tools"], !tools.isNull { out.append(#""tools":[\#(try translateTools(tools).joined(separator: ","))]"#) }
        if let choice = try translateToolChoice(fields["tool_choice"], parallel: fields["parallel_tool_calls"]?.bool) {
            out.append(#""tool_choice":\#(choice)"#)
        }
        if let user = fields["user"]?.string { out.append(#""metadata":{"user_id":\#(JSONText.quote(user))}"#) }
        return Array(("{" + out.joined(separator: ",") + "}").utf8)
    }

    static func refuseUnsupported(_ fields: [String: JSONView]) throws(TranslationError) {
        if let n = fields["n"], !n.isNull, n.int64 != 1 {
            throw TranslationError("'n' above 1 (several choices) has no equivalent on Anthropic models; send one request per choice.", param: "n")
        }
        for key in ["logprobs", "top_logprobs"] {
            if let value = fields[key], !value.isNull, value.bool != false, value.int64 != 0 {
                throw TranslationError("'\(key)': Anthropic models do not return log probabilities.", param: key)
            }
        }
        for key in ["presence_penalty", "frequency_penalty"] {
            if let value = fields[key], !value.isNull, number(value) != 0 {
                throw TranslationError("'\(key)' has no equivalent on Anthropic models; remove it or set it to 0.", param: key)
            }
        }
        if let format = fields["response_format"], !format.isNull, format["type"]?.string != "text" {
            throw TranslationError(
                "'response_format' (JSON mode) has no equivalent on Anthropic models; describe the JSON in the prompt or use a tool instead.",
                param: "response_format")
        }
        if let tier = fields["service_tier"]?.string, tier != "auto", tier != "default" {
            throw TranslationError("service_tier '\(tier)' has no equivalent on Anthropic models.", param: "service_tier")
        }
    }

    /// `system` (system and developer messages, joined) and the Anthropic messages, with
    /// consecutive turns of the same role merged (tool results join the user turn).
    static func translateMessages(_ view: JSONView?) throws(TranslationError) -> (String?, [String]) {
        guard let view, view.isArray else { throw TranslationError("'messages' must be a list of messages.", param: "messages") }
        var system: [String] = []
        var turns: [(role: String, blocks: [String])] = []
        func add(_ role: String, _ blocks: [String]) {
            guard !blocks.isEmpty else { return }
            if turns.last?.role == role { turns[turns.count - 1].blocks += blocks } else { turns.append((role, blocks)) }
        }
        for (index, message) in view.elements().enumerated() {
            let param = "messages[\(index)]"
            let parts = message.members(["role", "content", "tool_calls", "tool_call_id"])
            switch parts["role"]?.string {
            case "system", "developer":
                system.append(try text(of: parts["content"], param: param))
            case "user":
                add("user", try contentBlocks(parts["content"], param: param))
            case "assistant":
                var blocks = parts["content"].map { $0.isNull ? [] : (try? contentBlocks($0, param: param)) ?? [] } ?? []
                if let content = parts["content"], !content.isNull, blocks.isEmpty, !(content.string?.isEmpty ?? false) {
                    blocks = try contentBlocks(content, param: param)
                }
                for (callIndex, call) in (parts["tool_calls"]?.elements() ?? []).enumerated() {
                    blocks.append(try toolUse(call, param: "\(param).tool_calls[\(callIndex)]"))
                }
                add("assistant", blocks)
            case "tool":
                guard let id = parts["tool_call_id"]?.string else { throw TranslationError("\(param): a tool message needs 'tool_call_id'.", param: param) }
                let result = try text(of: parts["content"], param: param)
                add("user", [#"{"type":"tool_result","tool_use_id":\#(JSONText.quote(id)),"content":\#(JSONText.quote(result))}"#])
            default:
                throw TranslationError("\(param): 'role' must be system, developer, user, assistant or tool.", param: param)
            }
        }
        let messages = turns.map { #"{"role":"\#($0.role)","content":[\#($0.blocks.joined(separator: ","))]}"# }
        return (system.isEmpty ? nil : system.joined(separator: "\n\n"), messages)
    }

    /// The text of a content that may only hold text (system messages, tool results).
    static func text(of content: JSONView?, param: String) throws(TranslationError) -> String {
        guard let content, !content.isNull else { return "" }
        if let string = content.string { return string }
        guard content.isArray else { throw TranslationError("\(param): 'content' must be a string or a list of parts.", param: param) }
        var texts: [String] = []
        for part in content.elements() {
            guard part["type"]?.string == "text", let text = part["text"]?.string else {
                throw TranslationError("\(param): only text parts can be carried here, and this one is '\(part["type"]?.string ?? "unknown")'.", param: param)
            }
            texts.append(text)
        }
        return texts.joined(separator: "\n")
    }

    /// Anthropic content blocks for an OpenAI content (a string, or text and image parts).
    static func contentBlocks(_ content: JSONView?, param: String) throws(TranslationError) -> [String] {
        guard let content, !content.isNull else { return [] }
        if let string = content.string { return string.isEmpty ? [] : [#"{"type":"text","text":\#(JSONText.quote(string))}"#] }
        guard content.isArray else { throw TranslationError("\(param): 'content' must be a string or a list of parts.", param: param) }
        var blocks: [String] = []
        for part in content.elements() {
            switch part["type"]?.string {
            case "text":
                blocks.append(#"{"type":"text","text":\#(JSONText.quote(part["text"]?.string ?? ""))}"#)
            case "image_url":
                guard let url = part.path("image_url", "url")?.string ?? part["image_url"]?.string else {
                    throw TranslationError("\(param): an image_url part needs its 'url'.", param: param)
                }
                blocks.append(try imageBlock(url, param: param))
            case let other:
                throw TranslationError(
                    "\(param): content parts of type '\(other ?? "unknown")' cannot be carried to an Anthropic model (text and image_url can).", param: param)
            }
        }
        return blocks
    }

    /// `data:image/png;base64,…` becomes a base64 source; an http(s) URL a URL source.
    static func imageBlock(_ url: String, param: String) throws(TranslationError) -> String {
        if url.hasPrefix("data:") {
            guard let comma = url.firstIndex(of: ","), url[..<comma].hasSuffix(";base64") else {
                throw TranslationError("\(param): an image data URL must be base64 (data:image/png;base64,…).", param: param)
            }
            let mediaType = url[url.index(url.startIndex, offsetBy: 5)..<comma].dropLast(";base64".count)
            guard ["image/jpeg", "image/png", "image/gif", "image/webp"].contains(String(mediaType)) else {
                throw TranslationError("\(param): Anthropic models take JPEG, PNG, GIF or WebP images, not \(mediaType).", param: param)
            }
            let data = url[url.index(after: comma)...]
            return #"{"type":"image","source":{"type":"base64","media_type":"\#(mediaType)","data":\#(JSONText.quote(String(data)))}}"#
        }
        guard url.hasPrefix("https://") || url.hasPrefix("http://") else {
            throw TranslationError("\(param): an image URL must be http(s) or a base64 data URL.", param: param)
        }
        return #"{"type":"image","source":{"type":"url","url":\#(JSONText.quote(url))}}"#
    }

    /// An assistant tool call as a `tool_use` block; its arguments (a JSON string) must hold an object.
    static func toolUse(_ call: JSONView, param: String) throws(TranslationError) -> String {
        guard let id = call["id"]?.string, let name = call.path("function", "name")?.string else {
            throw TranslationError("\(param): a tool call needs 'id' and 'function.name'.", param: param)
        }
        let arguments = call.path("function", "arguments")?.string ?? "{}"
        let bytes = Array((arguments.isEmpty ? "{}" : arguments).utf8)
        guard (try? JSONSerialization.jsonObject(with: Data(bytes))) is [String: Any], let input = try? JSONView(object: bytes) else {
            throw TranslationError("\(param): the tool call's arguments are not a JSON object.", param: param)
        }
        return #"{"type":"tool_use","id":\#(JSONText.quote(id)),"name":\#(JSONText.quote(name)),"input":\#(raw(input))}"#
    }

    static func translateTools(_ tools: JSONView) throws(TranslationError) -> [String] {
        guard tools.isArray else { throw TranslationError("'tools' must be a list.", param: "tools") }
        var out: [String] = []
        for (index, tool) in tools.elements().enumerated() {
            guard tool["type"]?.string == "function", let function = tool["function"], let name = function["name"]?.string else {
                throw TranslationError("tools[\(index)]: only function tools can be carried to an Anthropic model.", param: "tools")
            }
            var fields = [#""name":\#(JSONText.quote(name))"#]
            if let description = function["description"]?.string { fields.append(#""description":\#(JSONText.quote(description))"#) }
            let schema = function["parameters"].map(raw) ?? #"{"type":"object","properties":{}}"#
            fields.append(#""input_schema":\#(schema)"#)
            out.append("{" + fields.joined(separator: ",") + "}")
        }
        return out
    }

    static func translateToolChoice(_ choice: JSONView?, parallel: Bool?) throws(TranslationError) -> String? {
        let serial = parallel == false ? #","disable_parallel_tool_use":true"# : ""
        guard let choice, !choice.isNull else { return serial.isEmpty ? nil : #"{"type":"auto"\#(serial)}"# }
        if let mode = choice.string {
            switch mode {
            case "auto": return #"{"type":"auto"\#(serial)}"#
            case "required": return #"{"type":"any"\#(serial)}"#
            case "none": return #"{"type":"none"}"#
            default: throw TranslationError("'tool_choice' must be auto, required, none or a function.", param: "tool_choice")
            }
        }
        guard let name = choice.path("function", "name")?.string else {
            throw TranslationError("'tool_choice' must be auto, required, none or {\"type\": \"function\", \"function\": {\"name\": …}}.", param: "tool_choice")
        }
        return #"{"type":"tool","name":\#(JSONText.quote(name))\#(serial)}"#
    }

    static func raw(_ view: JSONView) -> String { String(decoding: view.bytes[view.range], as: UTF8.self) }

    static func number(_ view: JSONView) -> Double? { Double(raw(view)) }
}
