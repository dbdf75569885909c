import Foundation
import StratesCore
import StratesWire

/// One simulated answer: its usage, text and tool call, rendered in the request's API format.
struct SimReply {
    let request: UpstreamRequest
    let summary: RequestSummary
    var usage = Usage()
    var text: [String] = []
    var toolName: String?
    var finishedByLength = false
    var responseID: String
    var firstContentIndex = 0
    var random: SimRandom
    let created = Int(Date().timeIntervalSince1970)

    init(request: UpstreamRequest, summary: RequestSummary, settings: SimSettings, cache: SimPromptCache) {
        self.request = request
        self.summary = summary
        let body = request.body
        random = SimRandom(seed: SimRandom.hash(body))
        responseID = random.hex(24)

        let root = try? JSONView(object: body)
        let fields = root?.members(["tools", "messages", "input", "reasoning", "reasoning_effort", "thinking"]) ?? [:]
        let totalInput = Int64(max(1, body.count / 4))
        let cachedBytes = cache.lookupAndStore(Self.promptInCacheOrder(root, api: request.api) ?? body)
        switch request.api {
        case .messages, .countTokens:
            if Self.contains(body, "\"cache_control\"") {
                let read = min(totalInput, Int64(cachedBytes / 4))
                let write = (totalInput - read) * 9 / 10
                usage.cacheRead = read
                if Self.contains(body, "\"1h\"") { usage.cacheWrite1h = write } else { usage.cacheWrite5m = write }
                usage.input = totalInput - read - write
            } else {
                usage.input = totalInput
            }
        case .embeddings:
            usage.input = totalInput
        case .chatCompletions, .responses:
            let read = totalInput >= 1024 ? min(totalInput, Int64(cachedBytes / 4)) : 0
            usage.cacheRead = read
            usage.input = totalInput - read
        }

        guard request.api != .embeddings, request.api != .countTokens else { return }
        var count = settings.forcedOutputTokens ?? settings.drawOutputTokens(&random)
        count = max(1, count)
        if let limit = summary.maxTokens, Int64(count) > limit {
            count = Int(max(1, limit))
            finishedByLength = true
        }
        var reasoning = 0
        if fields["reasoning"] != nil || fields["reasoning_effort"] != nil {
            reasoning = count / 2
        }
        text = random.tokens(count - reasoning)
        usage.output = Int64(count)
        usage.reasoning = Int64(reasoning)
        if let tools = fields["tools"], !tools.elements(limit: 1).isEmpty, !finishedByLength,
            ConversationTurn.latest(fields["messages"] ?? fields["input"]) != .tool
        {
            toolName = tools.elements(limit: 1).first.flatMap { $0["name"]?.string ?? $0.path("function", "name")?.string }
        }
    }

    /// The prompt in the order providers cache it (tools, then system or instructions, then
    /// the conversation), so a repeated prefix is found whatever order the client wrote
    /// the JSON members in.
    static func promptInCacheOrder(_ root: JSONView?, api: APIKind) -> [UInt8]? {
        guard let root else { return nil }
        let order: [String]
        switch api {
        case .messages, .countTokens: order = ["tools", "system", "messages"]
        case .chatCompletions: order = ["tools", "messages"]
        case .responses: order = ["tools", "instructions", "input"]
        case .embeddings: return nil
        }
        let fields = root.members(Set(order))
        var prompt: [UInt8] = []
        for key in order { if let value = fields[key] { prompt += value.raw } }
        return prompt
    }

    static func contains(_ bytes: [UInt8], _ pattern: String) -> Bool {
        let needle = Array(pattern.utf8)
        guard let first = needle.first, bytes.count >= needle.count else { return false }
        var index = 0
        while index <= bytes.count - needle.count {
            if bytes[index] == first, bytes[index..<(index + needle.count)].elementsEqual(needle) { return true }
            index += 1
        }
        return false
    }

    var fullText: String { text.joined() }
    var toolArguments: String { #"{"input":\#(JSONValue.quote(fullText))}"# }
    var model: String { JSONValue.quote(request.model) }

    /// The body as chunks: one for a whole response, one per event for a stream.
    mutating func render() -> [[UInt8]] {
        switch (request.api, request.stream) {
        case (.chatCompletions, false): return [Array(chatCompletion().utf8)]
        case (.chatCompletions, true): return chatChunks()
        case (.responses, false): return [Array(response(status: "completed", output: responseOutput()).utf8)]
        case (.responses, true): return responseEvents()
        case (.messages, false): return [Array(message().utf8)]
        case (.messages, true): return messageEvents()
        case (.embeddings, _): return [Array(embeddings().utf8)]
        case (.countTokens, _): return [Array(#"{"input_tokens":\#(usage.totalInput)}"#.utf8)]
        }
    }

    // MARK: OpenAI Chat Completions

    func chatUsage() -> String {
        let prompt = usage.totalInput
        return
            #"{"prompt_tokens":\#(prompt),"completion_tokens":\#(usage.output),"total_tokens":\#(prompt + usage.output),"prompt_tokens_details":{"cached_tokens":\#(usage.cacheRead),"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":\#(usage.reasoning),"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}"#
    }

    var chatFinish: String { toolName != nil ? "tool_calls" : finishedByLength ? "length" : "stop" }
    var chatID: String { "chatcmpl-sim" + responseID }
    var callID: String { "call_sim" + responseID.prefix(16) }

    func chatCompletion() -> String {
        let message: String
        if let toolName {
            message =
                #"{"role":"assistant","content":null,"tool_calls":[{"id":"\#(callID)","type":"function","function":{"name":\#(JSONValue.quote(toolName)),"arguments":\#(JSONValue.quote(toolArguments))}}],"refusal":null,"annotations":[]}"#
        } else {
            message = #"{"role":"assistant","content":\#(JSONValue.quote(fullText)),"refusal":null,"annotations":[]}"#
        }
        return
            #"{"id":"\#(chatID)","object":"chat.completion","created":\#(created),"model":\#(model),"choices":[{"index":0,"message":\#(message),"logprobs":null,"finish_reason":"\#(chatFinish)"}],"usage":\#(chatUsage()),"service_tier":"default","system_fingerprint":"fp_sim"}"#
    }

    mutating func chatChunks() -> [[UInt8]] {
        let usageField = summary.clientIncludesUsage || Self.contains(request.body, "\"include_usage\":true") ? #","usage":null"# : ""
        func chunk(_ delta: String, finish: String? = nil) -> [UInt8] {
            let finishText = finish.map { "\"\($0)\"" } ?? "null"
            return SSEEncoder.encode(
                data:
                    #"{"id":"\#(chatID)","object":"chat.completion.chunk","created":\#(created),"model":\#(model),"system_fingerprint":"fp_sim","choices":[{"index":0,"delta":\#(delta),"logprobs":null,"finish_reason":\#(finishText)}]\#(usageField)}"#
            )
        }
        var out: [[UInt8]] = []
        if let toolName {
            out.append(
                chunk(
                    #"{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"\#(callID)","type":"function","function":{"name":\#(JSONValue.quote(toolName)),"arguments":""}}],"refusal":null}"#
                ))
            firstContentIndex = 1
            for piece in argumentPieces() {
                out.append(chunk(#"{"tool_calls":[{"index":0,"function":{"arguments":\#(JSONValue.quote(piece))}}]}"#))
            }
        } else {
            out.append(chunk(#"{"role":"assistant","content":"","refusal":null}"#))
            firstContentIndex = 1
            for token in text { out.append(chunk(#"{"content":\#(JSONValue.quote(token))}"#)) }
        }
        out.append(chunk("{}", finish: chatFinish))
        if !usageField.isEmpty {
            out.append(
                SSEEncoder.encode(
                    data:
                        #"{"id":"\#(chatID)","object":"chat.completion.chunk","created":\#(created),"model":\#(model),"system_fingerprint":"fp_sim","choices":[],"usage":\#(chatUsage())}"#
                ))
        }
        out.append(SSEEncoder.encode(data: "[DONE]"))
        return out
    }

    /// Tool arguments split into pieces, one per token, as providers stream them.
    func argumentPieces() -> [String] {
        let whole = toolArguments
        let pieces = max(1, text.count)
        let size = max(1, (whole.count + pieces - 1) / pieces)
        var out: [String] = []
        var rest = Substring(whole)
        while !rest.isEmpty {
            out.append(String(rest.prefix(size)))
            rest = rest.dropFirst(size)
        }
        return out
    }

    // MARK: OpenAI Responses

    var respID: String { "resp_sim" + responseID }
    var itemID: String { (toolName != nil ? "fc_sim" : "msg_sim") + responseID }

    func responsesUsage() -> String {
        let input = usage.totalInput
        return
            #"{"input_tokens":\#(input),"input_tokens_details":{"cached_tokens":\#(usage.cacheRead)},"output_tokens":\#(usage.output),"output_tokens_details":{"reasoning_tokens":\#(usage.reasoning)},"total_tokens":\#(input + usage.output)}"#
    }

    func responseItem(done: Bool) -> String {
        if let toolName {
            return
                #"{"id":"\#(itemID)","type":"function_call","status":"\#(done ? "completed" : "in_progress")","arguments":\#(JSONValue.quote(done ? toolArguments : "")),"call_id":"\#(callID)","name":\#(JSONValue.quote(toolName))}"#
        }
        let content = done ? #"[{"type":"output_text","annotations":[],"logprobs":[],"text":\#(JSONValue.quote(fullText))}]"# : "[]"
        return #"{"id":"\#(itemID)","type":"message","status":"\#(done ? "completed" : "in_progress")","content":\#(content),"role":"assistant"}"#
    }

    func responseOutput() -> String { "[" + responseItem(done: true) + "]" }

    func response(status: String, output: String, withUsage: Bool = true) -> String {
        let incomplete = finishedByLength && status == "incomplete" ? #"{"reason":"max_output_tokens"}"# : "null"
        let maxOutput = summary.maxTokens.map(String.init) ?? "null"
        return
            #"{"id":"\#(respID)","object":"response","created_at":\#(created),"status":"\#(status)","background":false,"error":null,"incomplete_details":\#(incomplete),"instructions":null,"max_output_tokens":\#(maxOutput),"model":\#(model),"output":\#(output),"parallel_tool_calls":true,"previous_response_id":null,"reasoning":{"effort":null,"summary":null},"service_tier":"default","store":false,"temperature":1.0,"text":{"format":{"type":"text"},"verbosity":"medium"},"tool_choice":"auto","tools":[],"top_p":1.0,"truncation":"disabled","usage":\#(withUsage ? responsesUsage() : "null"),"user":null,"metadata":{}}"#
    }

    mutating func responseEvents() -> [[UInt8]] {
        var sequence = 0
        var out: [[UInt8]] = []
        func emit(_ type: String, _ fields: String) {
            out.append(SSEEncoder.encode(event: type, data: #"{"type":"\#(type)","sequence_number":\#(sequence),\#(fields)}"#))
            sequence += 1
        }
        let finalStatus = finishedByLength ? "incomplete" : "completed"
        emit("response.created", #""response":\#(response(status: "in_progress", output: "[]", withUsage: false))"#)
        emit("response.in_progress", #""response":\#(response(status: "in_progress", output: "[]", withUsage: false))"#)
        emit("response.output_item.added", #""output_index":0,"item":\#(responseItem(done: false))"#)
        if toolName != nil {
            firstContentIndex = out.count
            for piece in argumentPieces() {
                emit("response.function_call_arguments.delta", #""item_id":"\#(itemID)","output_index":0,"delta":\#(JSONValue.quote(piece))"#)
            }
            emit("response.function_call_arguments.done", #""item_id":"\#(itemID)","output_index":0,"arguments":\#(JSONValue.quote(toolArguments))"#)
        } else {
            emit(
                "response.content_part.added",
                #""item_id":"\#(itemID)","output_index":0,"content_index":0,"part":{"type":"output_text","annotations":[],"logprobs":[],"text":""}"#)
            firstContentIndex = out.count
            for token in text {
                emit(
                    "response.output_text.delta", #""item_id":"\#(itemID)","output_index":0,"content_index":0,"delta":\#(JSONValue.quote(token)),"logprobs":[]"#
                )
            }
            emit("response.output_text.done", #""item_id":"\#(itemID)","output_index":0,"content_index":0,"text":\#(JSONValue.quote(fullText)),"logprobs":[]"#)
            emit(
                "response.content_part.done",
                #""item_id":"\#(itemID)","output_index":0,"content_index":0,"part":{"type":"output_text","annotations":[],"logprobs":[],"text":\#(JSONValue.quote(fullText))}"#
            )
        }
        emit("response.output_item.done", #""output_index":0,"item":\#(responseItem(done: true))"#)
        emit("response.\(finalStatus)", #""response":\#(response(status: finalStatus, output: responseOutput()))"#)
        return out
    }

    // MARK: Anthropic Messages

    var messageID: String { "msg_sim" + responseID }
    var toolUseID: String { "toolu_sim" + responseID.prefix(16) }
    var stopReason: String { toolName != nil ? "tool_use" : finishedByLength ? "max_tokens" : "end_turn" }

    func anthropicUsage(output: Int64) -> String {
        #"{"input_tokens":\#(usage.input),"cache_creation_input_tokens":\#(usage.cacheWrite5m + usage.cacheWrite1h),"cache_read_input_tokens":\#(usage.cacheRead),"cache_creation":{"ephemeral_5m_input_tokens":\#(usage.cacheWrite5m),"ephemeral_1h_input_tokens":\#(usage.cacheWrite1h)},"output_tokens":\#(output),"service_tier":"standard"}"#
    }

    func message() -> String {
        let content: String
        if let toolName {
            content = #"[{"type":"tool_use","id":"\#(toolUseID)","name":\#(JSONValue.quote(toolName)),"input":\#(toolArguments)}]"#
        } else {
            content = #"[{"type":"text","text":\#(JSONValue.quote(fullText))}]"#
        }
        return
            #"{"id":"\#(messageID)","type":"message","role":"assistant","model":\#(model),"content":\#(content),"stop_reason":"\#(stopReason)","stop_sequence":null,"usage":\#(anthropicUsage(output: usage.output))}"#
    }

    mutating func messageEvents() -> [[UInt8]] {
        var out: [[UInt8]] = []
        func emit(_ type: String, _ fields: String) {
            out.append(SSEEncoder.encode(event: type, data: #"{"type":"\#(type)"\#(fields.isEmpty ? "" : ",")\#(fields)}"#))
        }
        emit(
            "message_start",
            #""message":{"id":"\#(messageID)","type":"message","role":"assistant","model":\#(model),"content":[],"stop_reason":null,"stop_sequence":null,"usage":\#(anthropicUsage(output: 1))}"#
        )
        if let toolName {
            emit("content_block_start", #""index":0,"content_block":{"type":"tool_use","id":"\#(toolUseID)","name":\#(JSONValue.quote(toolName)),"input":{}}"#)
            emit("ping", "")
            firstContentIndex = out.count
            for piece in argumentPieces() {
                emit("content_block_delta", #""index":0,"delta":{"type":"input_json_delta","partial_json":\#(JSONValue.quote(piece))}"#)
            }
        } else {
            emit("content_block_start", #""index":0,"content_block":{"type":"text","text":""}"#)
            emit("ping", "")
            firstContentIndex = out.count
            for token in text {
                emit("content_block_delta", #""index":0,"delta":{"type":"text_delta","text":\#(JSONValue.quote(token))}"#)
            }
        }
        emit("content_block_stop", #""index":0"#)
        emit("message_delta", #""delta":{"stop_reason":"\#(stopReason)","stop_sequence":null},"usage":{"output_tokens":\#(usage.output)}"#)
        emit("message_stop", "")
        return out
    }

    // MARK: Embeddings

    mutating func embeddings() -> String {
        let root = try? JSONView(object: request.body)
        let fields = root?.members(["input", "dimensions", "encoding_format"]) ?? [:]
        let inputs = max(1, fields["input"].map { $0.isArray ? $0.elements().count : 1 } ?? 1)
        let dimensions = Int(min(max(fields["dimensions"]?.int64 ?? 8, 1), 4096))
        let base64 = fields["encoding_format"]?.string == "base64"
        var items: [String] = []
        for index in 0..<inputs {
            let values = (0..<dimensions).map { _ in Float(Int(random.next() % 2001) - 1000) / 1000 }
            let encoded: String
            if base64 {
                var bytes: [UInt8] = []
                for value in values { withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes += $0 } }
                encoded = "\"" + Data(bytes).base64EncodedString() + "\""
            } else {
                encoded = "[" + values.map { String($0) }.joined(separator: ",") + "]"
            }
            items.append(#"{"object":"embedding","index":\#(index),"embedding":\#(encoded)}"#)
        }
        return
            #"{"object":"list","data":[\#(items.joined(separator: ","))],"model":\#(model),"usage":{"prompt_tokens":\#(usage.input),"total_tokens":\#(usage.input)}}"#
    }
}
