import Foundation
import StratesCore

/// Carries an Anthropic messages answer back into the OpenAI chat-completions shape, for a
/// client speaking OpenAI served by an Anthropic model: text blocks become the message's
/// content, `tool_use` blocks its `tool_calls` (with the input as an arguments string), the
/// stop reason a finish reason, and the usage OpenAI's (cache reads as cached prompt tokens).
/// Errors are carried into OpenAI's error shape.
public enum MessagesToChat {
    static let finishReasons = [
        "end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls", "pause_turn": "stop",
        "refusal": "content_filter", "model_context_window_exceeded": "length",
    ]

    /// The chat completion for an Anthropic message body; `created` in seconds since 1970.
    public static func response(_ body: [UInt8], created: Int64) throws(TranslationError) -> [UInt8] {
        guard (try? JSONSerialization.jsonObject(with: Data(body))) is [String: Any], let root = try? JSONView(object: body) else {
            throw TranslationError("The Anthropic model's answer was not a valid JSON object.")
        }
        let fields = root.members(["id", "model", "content", "stop_reason", "usage"])
        var texts: [String] = []
        var calls: [String] = []
        for block in fields["content"]?.elements() ?? [] {
            switch block["type"]?.string {
            case "text":
                texts.append(block["text"]?.string ?? "")
            case "tool_use":
                let input = block["input"].map { String(decoding: $0.bytes[$0.range], as: UTF8.self) } ?? "{}"
                calls.append(
                    #"{"id":\#(JSONText.quote(block["id"]?.string ?? "")),"type":"function","function":{"name":\#(JSONText.quote(block["name"]?.string ?? "")),"arguments":\#(JSONText.quote(input))}}"#
                )
            default:
                // Thinking and other blocks have no place in a chat completion's message.
                continue
            }
        }
        let content = texts.isEmpty && !calls.isEmpty ? "null" : JSONText.quote(texts.joined())
        var message = [#""role":"assistant""#, #""content":\#(content)"#, #""refusal":null"#]
        if !calls.isEmpty { message.append(#""tool_calls":[\#(calls.joined(separator: ","))]"#) }
        let stop = fields["stop_reason"]?.string ?? "end_turn"
        let finish = finishReasons[stop] ?? "stop"
        let usage = fields["usage"].flatMap { UsageFields.anthropic($0) } ?? .zero
        let out = [
            #""id":\#(JSONText.quote("chatcmpl-" + (fields["id"]?.string ?? "strates")))"#, #""object":"chat.completion""#,
            #""created":\#(created)"#, #""model":\#(JSONText.quote(fields["model"]?.string ?? ""))"#,
            #""choices":[{"index":0,"message":{\#(message.joined(separator: ","))},"logprobs":null,"finish_reason":"\#(finish)"}]"#,
            #""usage":\#(chatUsage(usage))"#,
        ]
        return Array(("{" + out.joined(separator: ",") + "}").utf8)
    }

    /// OpenAI's usage object for Anthropic usage: prompt tokens include cache reads and writes.
    static func chatUsage(_ usage: Usage) -> String {
        #"{"prompt_tokens":\#(usage.totalInput),"completion_tokens":\#(usage.output),"total_tokens":\#(usage.total),"prompt_tokens_details":{"cached_tokens":\#(usage.cacheRead)},"completion_tokens_details":{"reasoning_tokens":\#(usage.reasoning)}}"#
    }

    /// An Anthropic error body in OpenAI's error shape (the status stays the provider's).
    public static func error(_ body: [UInt8], status: Int) -> [UInt8] {
        let root = try? JSONView(object: body)
        let message = root?.path("error", "message")?.string ?? String(decoding: body.prefix(300), as: UTF8.self)
        let type = root?.path("error", "type")?.string ?? (status >= 500 ? "api_error" : "invalid_request_error")
        let openAIType =
            [
                "invalid_request_error": "invalid_request_error", "authentication_error": "authentication_error",
                "permission_error": "permission_error", "not_found_error": "not_found_error", "rate_limit_error": "rate_limit_error",
                "overloaded_error": "server_error", "api_error": "server_error",
            ][type] ?? type
        return Array(#"{"error":{"message":\#(JSONText.quote(message)),"type":"\#(openAIType)","param":null,"code":\#(JSONText.quote(type))}}"#.utf8)
    }
}
