import Foundation
import StratesWire
import Testing

/// Streams carried across formats, event by event: Anthropic events to OpenAI chat chunks
/// and back, checked on what each client's SDK accumulates from them.
@Suite struct StreamTranslationTests {
    static func sse(_ event: String?, _ data: String) -> String {
        (event.map { "event: \($0)\n" } ?? "") + "data: \(data)\n\n"
    }

    /// An Anthropic stream with thinking, text and a tool call, as the API sends it.
    static let anthropicStream = [
        sse(
            "message_start",
            #"{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":12,"cache_read_input_tokens":300,"cache_creation_input_tokens":40,"output_tokens":1}}}"#
        ),
        sse("content_block_start", #"{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}"#),
        sse("content_block_delta", #"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Hmm."}}"#),
        sse("content_block_stop", #"{"type":"content_block_stop","index":0}"#),
        sse("content_block_start", #"{"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}"#),
        sse("ping", #"{"type":"ping"}"#),
        sse("content_block_delta", #"{"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"Let me \"check\"."}}"#),
        sse("content_block_stop", #"{"type":"content_block_stop","index":1}"#),
        sse(
            "content_block_start", #"{"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_9","name":"read_file","input":{}}}"#
        ),
        sse("content_block_delta", #"{"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\"path\": \"src/"}}"#),
        sse("content_block_delta", #"{"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"main.swift\"}"}}"#),
        sse("content_block_stop", #"{"type":"content_block_stop","index":2}"#),
        sse("message_delta", #"{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":57}}"#),
        sse("message_stop", #"{"type":"message_stop"}"#),
    ].joined()

    /// Runs `translator` over `stream` fed in pieces of `sizes` (cycled), and returns the
    /// client's events.
    static func carry(_ stream: String, with translator: some StreamTranslator, pieces sizes: [Int] = [1 << 20]) -> (events: [SSEEvent], closing: [UInt8]?) {
        var translator = translator
        var upstream = SSEDecoder()
        var out: [UInt8] = []
        let bytes = Array(stream.utf8)
        var start = 0
        var turn = 0
        while start < bytes.count {
            let end = min(bytes.count, start + max(1, sizes[turn % sizes.count]))
            for event in upstream.feed(bytes[start..<end]) { out += translator.translate(event) }
            start = end
            turn += 1
        }
        let closing = translator.finish()
        var client = SSEDecoder()
        return (client.feed(out + (closing ?? [])), closing)
    }

    static func object(_ event: SSEEvent) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(event.data)) as? [String: Any])
    }

    /// What the OpenAI SDK accumulates from chat chunks: text, tool calls by index, finish, usage.
    static func accumulateChat(_ events: [SSEEvent]) throws -> (
        text: String, calls: [Int: (id: String, name: String, arguments: String)], finish: String?, usage: [String: Any]?, done: Bool
    ) {
        var text = ""
        var calls: [Int: (id: String, name: String, arguments: String)] = [:]
        var finish: String?
        var usage: [String: Any]?
        var done = false
        for event in events {
            if event.dataText == "[DONE]" {
                done = true
                continue
            }
            #expect(!done, "nothing may follow [DONE]")
            let chunk = try object(event)
            #expect(chunk["object"] as? String == "chat.completion.chunk")
            usage = chunk["usage"] as? [String: Any] ?? usage
            for choice in chunk["choices"] as? [[String: Any]] ?? [] {
                let delta = choice["delta"] as? [String: Any] ?? [:]
                text += delta["content"] as? String ?? ""
                for call in delta["tool_calls"] as? [[String: Any]] ?? [] {
                    let index = try #require(call["index"] as? Int)
                    let function = call["function"] as? [String: Any] ?? [:]
                    var entry = calls[index] ?? ("", "", "")
                    if let id = call["id"] as? String { entry.id = id }
                    if let name = function["name"] as? String { entry.name = name }
                    entry.arguments += function["arguments"] as? String ?? ""
                    calls[index] = entry
                }
                finish = choice["finish_reason"] as? String ?? finish
            }
        }
        return (text, calls, finish, usage, done)
    }

    @Test func anthropicEventsBecomeTheChunksTheOpenAISDKReads() throws {
        let (events, closing) = Self.carry(Self.anthropicStream, with: MessagesStreamToChat(includeUsage: true, created: 1_700_000_000))
        #expect(closing == [])
        let first = try Self.object(events[0])
        #expect(first["id"] as? String == "chatcmpl-msg_1" && first["model"] as? String == "claude-sonnet-4-5")
        let delta = try #require((first["choices"] as? [[String: Any]])?.first?["delta"] as? [String: Any])
        #expect(delta["role"] as? String == "assistant")
        let read = try Self.accumulateChat(events)
        #expect(read.text == #"Let me "check"."#, "thinking is dropped, text carried")
        #expect(read.calls.count == 1 && read.calls[0]?.id == "toolu_9" && read.calls[0]?.name == "read_file")
        let arguments = try #require(try JSONSerialization.jsonObject(with: Data((read.calls[0]?.arguments ?? "").utf8)) as? [String: String])
        #expect(arguments == ["path": "src/main.swift"])
        #expect(read.finish == "tool_calls" && read.done)
        // Prompt tokens include cache reads and writes; cached tokens are the reads.
        let usage = try #require(read.usage)
        #expect(usage["prompt_tokens"] as? Int == 352 && usage["completion_tokens"] as? Int == 57)
        #expect((usage["prompt_tokens_details"] as? [String: Any])?["cached_tokens"] as? Int == 300)
    }

    @Test func theUsageChunkIsSentOnlyWhenTheClientAskedForIt() throws {
        let (events, _) = Self.carry(Self.anthropicStream, with: MessagesStreamToChat(includeUsage: false, created: 0))
        #expect(try Self.accumulateChat(events).usage == nil)
        #expect(events.last?.dataText == "[DONE]")
    }

    @Test(arguments: [[1], [2, 7], [3, 1, 50], [97, 13], [4096]])
    func splitAnywhereTheAnswerIsTheSame(pieces: [Int]) throws {
        let whole = Self.carry(Self.anthropicStream, with: MessagesStreamToChat(includeUsage: true, created: 5))
        let split = Self.carry(Self.anthropicStream, with: MessagesStreamToChat(includeUsage: true, created: 5), pieces: pieces)
        #expect(whole.events.map(\.data) == split.events.map(\.data))
        let chat = ChatStreamToMessagesTests.chatStream
        let back = Self.carry(chat, with: ChatStreamToMessages())
        #expect(back.events.map(\.data) == Self.carry(chat, with: ChatStreamToMessages(), pieces: pieces).events.map(\.data))
    }

    @Test func anthropicStreamErrorsReachTheChatClientInOpenAIsShape() throws {
        let stream =
            Self.sse("message_start", #"{"type":"message_start","message":{"id":"m","model":"x","usage":{"input_tokens":1,"output_tokens":0}}}"#)
            + Self.sse("error", #"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#)
            + Self.sse("message_stop", #"{"type":"message_stop"}"#)
        let (events, closing) = Self.carry(stream, with: MessagesStreamToChat(includeUsage: true, created: 0))
        #expect(closing == [] && events.count == 2, "nothing follows the error")
        let error = try #require(try Self.object(events[1])["error"] as? [String: Any])
        #expect(error["message"] as? String == "Overloaded" && error["type"] as? String == "server_error")
    }

    @Test func anAnthropicStreamWithoutItsStopIsIncomplete() {
        let cut = Self.anthropicStream.components(separatedBy: "event: message_delta")[0]
        #expect(Self.carry(cut, with: MessagesStreamToChat(includeUsage: true, created: 0)).closing == nil)
    }
}

@Suite struct ChatStreamToMessagesTests {
    static func chunk(_ choices: String, usage: String? = nil) -> String {
        StreamTranslationTests.sse(
            nil,
            #"{"id":"chatcmpl-7","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":\#(choices)\#(usage.map { #","usage":\#($0)"# } ?? "")}"#
        )
    }

    static let usage = #"{"prompt_tokens":1234,"completion_tokens":56,"total_tokens":1290,"prompt_tokens_details":{"cached_tokens":1024}}"#

    /// A chat stream with text, two tool calls streamed in fragments, and a usage chunk.
    static let chatStream = [
        chunk(#"[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"finish_reason":null}]"#),
        chunk(#"[{"index":0,"delta":{"content":"Reading"},"finish_reason":null}]"#),
        chunk(#"[{"index":0,"delta":{"content":" both."},"finish_reason":null}]"#),
        chunk(
            #"[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"read","arguments":""}}]},"finish_reason":null}]"#
        ),
        chunk(#"[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"p\":"}}]},"finish_reason":null}]"#),
        chunk(#"[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"a\"}"}}]},"finish_reason":null}]"#),
        chunk(
            #"[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_b","type":"function","function":{"name":"read","arguments":"{\"p\":\"b\"}"}}]},"finish_reason":null}]"#
        ),
        chunk(#"[{"index":0,"delta":{},"finish_reason":"tool_calls"}]"#),
        chunk("[]", usage: usage),
        StreamTranslationTests.sse(nil, "[DONE]"),
    ].joined()

    /// What the Anthropic SDK accumulates: blocks by index, stop reason, usage.
    static func accumulate(_ events: [SSEEvent]) throws -> (
        names: [String], blocks: [Int: [String: Any]], json: [Int: String], stop: String?, usage: [String: Any]
    ) {
        var blocks: [Int: [String: Any]] = [:]
        var json: [Int: String] = [:]
        var stop: String?
        var usage: [String: Any] = [:]
        var open: Int?
        for event in events {
            let data = try StreamTranslationTests.object(event)
            #expect(data["type"] as? String == event.event, "event name and type agree")
            let index = data["index"] as? Int
            switch event.event {
            case "message_start":
                usage = ((data["message"] as? [String: Any])?["usage"] as? [String: Any]) ?? [:]
            case "content_block_start":
                #expect(open == nil, "one block open at a time")
                open = index
                blocks[index ?? -1] = data["content_block"] as? [String: Any]
            case "content_block_delta":
                #expect(open == index, "deltas go to the open block")
                let delta = data["delta"] as? [String: Any] ?? [:]
                if let text = delta["text"] as? String {
                    let sofar = blocks[index ?? -1]?["text"] as? String ?? ""
                    blocks[index ?? -1]?["text"] = sofar + text
                }
                if let part = delta["partial_json"] as? String { json[index ?? -1, default: ""] += part }
            case "content_block_stop":
                #expect(open == index)
                open = nil
            case "message_delta":
                stop = (data["delta"] as? [String: Any])?["stop_reason"] as? String
                usage.merge(data["usage"] as? [String: Any] ?? [:]) { $1 }
            default:
                continue
            }
        }
        return (events.compactMap(\.event), blocks, json, stop, usage)
    }

    @Test func chatChunksBecomeTheEventsTheAnthropicSDKReads() throws {
        let (events, closing) = StreamTranslationTests.carry(Self.chatStream, with: ChatStreamToMessages())
        #expect(closing == [])
        let read = try Self.accumulate(events)
        #expect(read.names.first == "message_start" && read.names.suffix(2) == ["message_delta", "message_stop"])
        #expect(read.blocks[0]?["type"] as? String == "text" && read.blocks[0]?["text"] as? String == "Reading both.")
        #expect(read.blocks[1]?["id"] as? String == "call_a" && read.blocks[1]?["name"] as? String == "read")
        #expect(read.blocks[2]?["id"] as? String == "call_b")
        #expect(read.json[1] == #"{"p":"a"}"# && read.json[2] == #"{"p":"b"}"#)
        #expect(read.stop == "tool_use")
        #expect(read.usage["input_tokens"] as? Int == 210 && read.usage["cache_read_input_tokens"] as? Int == 1024 && read.usage["output_tokens"] as? Int == 56)
    }

    @Test func aServerThatSendsNoDoneStillClosesTheMessage() throws {
        let stream = Self.chatStream.replacingOccurrences(of: "data: [DONE]\n\n", with: "")
        let (events, closing) = StreamTranslationTests.carry(stream, with: ChatStreamToMessages())
        #expect(closing?.isEmpty == false)
        #expect(events.last?.event == "message_stop")
    }

    @Test func aChatStreamCutBeforeItsFinishIsIncomplete() {
        let cut = Self.chatStream.components(separatedBy: "\"finish_reason\":\"tool_calls\"")[0].components(separatedBy: "data: ").dropLast().joined(
            separator: "data: ")
        #expect(StreamTranslationTests.carry(cut, with: ChatStreamToMessages()).closing == nil)
    }

    @Test func chatStreamErrorsBecomeAnAnthropicErrorEvent() throws {
        let stream =
            Self.chunk(#"[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]"#)
            + StreamTranslationTests.sse(nil, #"{"error":{"message":"Rate limit reached","type":"rate_limit_error","code":null}}"#)
        let (events, _) = StreamTranslationTests.carry(stream, with: ChatStreamToMessages())
        let error = try #require(events.last)
        #expect(error.event == "error")
        #expect(((try StreamTranslationTests.object(error))["error"] as? [String: Any])?["message"] as? String == "Rate limit reached")
    }

    @Test func aRoundTripKeepsTextToolsAndStopReason() throws {
        // Anthropic → chat → Anthropic: what a client reads survives both carries.
        var toChat = MessagesStreamToChat(includeUsage: true, created: 0)
        var decoder = SSEDecoder()
        let chat = decoder.feed(Array(StreamTranslationTests.anthropicStream.utf8)).flatMap { toChat.translate($0) }
        let (events, _) = StreamTranslationTests.carry(String(decoding: chat, as: UTF8.self), with: ChatStreamToMessages())
        let read = try Self.accumulate(events)
        #expect(read.blocks[0]?["text"] as? String == #"Let me "check"."#)
        #expect(read.blocks[1]?["id"] as? String == "toolu_9" && read.json[1] == #"{"path": "src/main.swift"}"#)
        #expect(read.stop == "tool_use" && read.usage["output_tokens"] as? Int == 57)
    }
}
