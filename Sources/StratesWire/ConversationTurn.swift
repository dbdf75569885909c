import StratesCore

/// Who spoke last in a conversation a request carries: a person (or the program driving
/// the model), or a tool whose result the model is asked to go on from. A run of requests
/// continuing from tool results is an agent's loop; workload profiles count them.
public enum ConversationTurn: String, Sendable {
    case human
    case tool

    /// The latest turn of a chat `messages`, Anthropic `messages` or Responses `input` list.
    public static func latest(_ messages: JSONView?) -> ConversationTurn? {
        guard let messages, messages.isArray, let last = messages.elements().last else { return nil }
        if last["role"]?.string == "tool" || last["type"]?.string == "function_call_output" { return .tool }
        if let content = last["content"], content.isArray, content.elements().contains(where: { $0["type"]?.string == "tool_result" }) { return .tool }
        return .human
    }

    /// The latest turn of a request body.
    public static func latest(body: [UInt8]) -> ConversationTurn? {
        guard let root = try? JSONView(object: body) else { return nil }
        let fields = root.members(["messages", "input"])
        return latest(fields["messages"] ?? fields["input"])
    }
}
