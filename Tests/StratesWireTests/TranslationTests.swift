import Foundation
import StratesTestSupport
import Testing

@testable import StratesProviders
@testable import StratesWire

@Suite struct ChatToMessagesTests {
    func translate(_ body: String, model: String = "claude-sonnet-4-5") throws -> [String: Any] {
        let bytes = try ChatToMessages.translate(Array(body.utf8), model: model)
        return try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
    }

    func refusal(_ body: String) -> TranslationError? {
        do {
            _ = try ChatToMessages.translate(Array(body.utf8), model: "claude")
            return nil
        } catch {
            return error
        }
    }

    @Test func aFullAgentTurnCarriesOver() throws {
        let body = #"""
            {"model":"gpt-4o","max_completion_tokens":1000,"temperature":0.7,"top_p":0.9,"stop":"END","stream":true,
             "stream_options":{"include_usage":true},"user":"u-1","parallel_tool_calls":false,
             "tool_choice":{"type":"function","function":{"name":"read_file"}},
             "tools":[{"type":"function","function":{"name":"read_file","description":"Read a file","parameters":{"type":"object","properties":{"path":{"type":"string"}},"required":["path"]}}}],
             "messages":[
              {"role":"system","content":"You are terse."},
              {"role":"developer","content":[{"type":"text","text":"Use tools."}]},
              {"role":"user","content":[{"type":"text","text":"What is in a.txt?"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}}]},
              {"role":"assistant","content":"Let me look.","tool_calls":[{"id":"call_1","type":"function","function":{"name":"read_file","arguments":"{\"path\":\"a.txt\"}"}},
                                                                      {"id":"call_2","type":"function","function":{"name":"read_file","arguments":""}}]},
              {"role":"tool","tool_call_id":"call_1","content":"hello"},
              {"role":"tool","tool_call_id":"call_2","content":[{"type":"text","text":"world"}]},
              {"role":"user","content":"Thanks"}
             ]}
            """#
        let out = try translate(body)
        #expect(out["model"] as? String == "claude-sonnet-4-5")
        #expect(out["system"] as? String == "You are terse.\n\nUse tools.")
        #expect(out["max_tokens"] as? Int == 1000 && out["temperature"] as? Double == 0.7 && out["top_p"] as? Double == 0.9)
        #expect(out["stop_sequences"] as? [String] == ["END"] && out["stream"] as? Bool == true)
        #expect((out["metadata"] as? [String: String]) == ["user_id": "u-1"])
        let choice = try #require(out["tool_choice"] as? [String: Any])
        #expect(choice["type"] as? String == "tool" && choice["name"] as? String == "read_file" && choice["disable_parallel_tool_use"] as? Bool == true)
        let tools = try #require(out["tools"] as? [[String: Any]])
        #expect(
            tools.count == 1 && tools[0]["name"] as? String == "read_file" && (tools[0]["input_schema"] as? [String: Any])?["required"] as? [String] == ["path"]
        )

        let messages = try #require(out["messages"] as? [[String: Any]])
        #expect(messages.map { $0["role"] as? String } == ["user", "assistant", "user"])
        let first = try #require(messages[0]["content"] as? [[String: Any]])
        #expect(first[0]["text"] as? String == "What is in a.txt?")
        let source = try #require(first[1]["source"] as? [String: String])
        #expect(first[1]["type"] as? String == "image" && source == ["type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="])
        let assistant = try #require(messages[1]["content"] as? [[String: Any]])
        #expect(assistant.map { $0["type"] as? String } == ["text", "tool_use", "tool_use"])
        #expect((assistant[1]["input"] as? [String: String]) == ["path": "a.txt"] && assistant[1]["id"] as? String == "call_1")
        #expect((assistant[2]["input"] as? [String: Any])?.isEmpty == true)
        // Both tool results and the next user message form one user turn, in order.
        let results = try #require(messages[2]["content"] as? [[String: Any]])
        #expect(results.map { $0["type"] as? String } == ["tool_result", "tool_result", "text"])
        #expect(results[0]["tool_use_id"] as? String == "call_1" && results[0]["content"] as? String == "hello" && results[1]["content"] as? String == "world")
    }

    @Test func choicesAndDefaultsMapToTheirAnthropicForms() throws {
        let base = #""model":"gpt-4o","messages":[{"role":"user","content":"hi"}]"#
        #expect(try translate("{\(base)}")["max_tokens"] as? Int == 4_096)
        for (openAI, anthropic) in [(#""auto""#, "auto"), (#""required""#, "any"), (#""none""#, "none")] {
            let out = try translate("{\(base),\"tool_choice\":\(openAI)}")
            #expect((out["tool_choice"] as? [String: Any])?["type"] as? String == anthropic)
        }
        let thinking = try translate("{\(base),\"reasoning_effort\":\"medium\",\"max_tokens\":10000}")
        #expect((thinking["thinking"] as? [String: Any])?["budget_tokens"] as? Int == 4_096)
        let url = try translate(#"{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://example.com/a.png"}}]}]}"#)
        let block = try #require(((url["messages"] as? [[String: Any]])?.first?["content"] as? [[String: Any]])?.first)
        #expect((block["source"] as? [String: String]) == ["type": "url", "url": "https://example.com/a.png"])
    }

    @Test(arguments: [
        (#"{"model":"m","temperature":1.5,"messages":[]}"#, "temperature 1.5 is above 1"),
        (#"{"model":"m","n":2,"messages":[]}"#, "'n' above 1"),
        (#"{"model":"m","response_format":{"type":"json_object"},"messages":[]}"#, "'response_format' (JSON mode)"),
        (#"{"model":"m","logprobs":true,"messages":[]}"#, "log probabilities"),
        (#"{"model":"m","seed":3,"messages":[]}"#, "'seed' has no equivalent"),
        (#"{"model":"m","frequency_penalty":0.5,"messages":[]}"#, "'frequency_penalty'"),
        (#"{"model":"m","reasoning_effort":"high","max_tokens":1000,"messages":[]}"#, "must be below max_tokens"),
        (#"{"model":"m","messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{}}]}]}"#, "'input_audio' cannot be carried"),
        (#"{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/bmp;base64,AA"}}]}]}"#, "not image/bmp"),
        (#"{"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"c","function":{"name":"f","arguments":"[1]"}}]}]}"#, "not a JSON object"),
        (#"{"model":"m","messages":[{"role":"tool","content":"x"}]}"#, "needs 'tool_call_id'"),
        (#"{"model":"m","messages":[{"role":"wizard","content":"x"}]}"#, "'role' must be"),
        (#"{"model":"m","tools":[{"type":"web_search"}],"messages":[]}"#, "only function tools"),
        (#"{"model":"m","messages":"hi"}"#, "'messages' must be a list"),
    ])
    func whatHasNoEquivalentIsRefusedClearly(body: String, expected: String) {
        let error = refusal(body)
        #expect(error?.message.contains(expected) == true, "\(String(describing: error?.message))")
    }

    /// Mutated requests: the translation is valid JSON or a clear refusal, never a crash.
    @Test func mutatedRequestsNeverBreakTheTranslation() throws {
        let seed = Array(
            #"{"model":"gpt-4o","max_tokens":50,"temperature":0.5,"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],"messages":[{"role":"system","content":"s"},{"role":"user","content":[{"type":"text","text":"hi"}]},{"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},{"role":"tool","tool_call_id":"c","content":"ok"}]}"#
                .utf8)
        var random = SeededRandom(5)
        let alphabet = Array(#"{}[]",:0123456789.-truefalsenull\ "#.utf8)
        var translated = 0
        for _ in 0..<3_000 {
            var body = seed
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                let index = Int.random(in: 0..<body.count, using: &random)
                switch Int.random(in: 0..<3, using: &random) {
                case 0: body[index] = alphabet.randomElement(using: &random)!
                case 1: body.remove(at: index)
                default: body.insert(alphabet.randomElement(using: &random)!, at: index)
                }
            }
            do {
                let out = try ChatToMessages.translate(body, model: "claude")
                #expect((try? JSONSerialization.jsonObject(with: Data(out))) is [String: Any], "\(String(decoding: body, as: UTF8.self))")
                translated += 1
            } catch {
                #expect(!error.message.isEmpty)
            }
        }
        #expect(translated > 100)
    }
}

extension ChatToMessagesTests {
    @Test func toolArgumentsMustBeAWholeValidObject() {
        let body = #"{"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"c","function":{"name":"f","arguments":"{\"a\":{\"b\"x:1}}"}}]}]}"#
        #expect(refusal(body)?.message.contains("not a JSON object") == true)
    }
}

@Suite struct MessagesToChatTests {
    func chat(_ body: String) throws -> [String: Any] {
        let bytes = try MessagesToChat.response(Array(body.utf8), created: 1_795_000_000)
        return try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
    }

    @Test func textToolCallsStopReasonAndUsageCarryOver() throws {
        let out = try chat(
            #"""
            {"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","stop_reason":"tool_use","stop_sequence":null,
             "content":[{"type":"thinking","thinking":"hmm","signature":"s"},{"type":"text","text":"Reading "},{"type":"text","text":"it."},
                        {"type":"tool_use","id":"toolu_1","name":"read_file","input":{"path":"a.txt","lines":[1,2]}}],
             "usage":{"input_tokens":100,"output_tokens":20,"cache_read_input_tokens":900,"cache_creation_input_tokens":50}}
            """#)
        #expect(out["id"] as? String == "chatcmpl-msg_1" && out["object"] as? String == "chat.completion" && out["model"] as? String == "claude-sonnet-4-5")
        let choice = try #require((out["choices"] as? [[String: Any]])?.first)
        #expect(choice["finish_reason"] as? String == "tool_calls")
        let message = try #require(choice["message"] as? [String: Any])
        #expect(message["content"] as? String == "Reading it." && message["role"] as? String == "assistant")
        let call = try #require((message["tool_calls"] as? [[String: Any]])?.first)
        let function = try #require(call["function"] as? [String: String])
        #expect(call["id"] as? String == "toolu_1" && function["name"] == "read_file")
        let arguments = try #require(try JSONSerialization.jsonObject(with: Data(function["arguments"]!.utf8)) as? [String: Any])
        #expect(arguments["path"] as? String == "a.txt" && arguments["lines"] as? [Int] == [1, 2])
        let usage = try #require(out["usage"] as? [String: Any])
        #expect(usage["prompt_tokens"] as? Int == 1_050 && usage["completion_tokens"] as? Int == 20 && usage["total_tokens"] as? Int == 1_070)
        #expect((usage["prompt_tokens_details"] as? [String: Int])?["cached_tokens"] == 900)
    }

    @Test(arguments: [("end_turn", "stop"), ("max_tokens", "length"), ("stop_sequence", "stop"), ("refusal", "content_filter")])
    func stopReasons(anthropic: String, openAI: String) throws {
        let out = try chat(
            #"{"id":"m","model":"c","content":[{"type":"text","text":"x"}],"stop_reason":"\#(anthropic)","usage":{"input_tokens":1,"output_tokens":1}}"#)
        #expect((out["choices"] as? [[String: Any]])?.first?["finish_reason"] as? String == openAI)
    }

    @Test func errorsTakeOpenAIsShape() throws {
        let body = MessagesToChat.error(Array(#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#.utf8), status: 529)
        let error = try #require((try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])?["error"] as? [String: Any])
        #expect(error["message"] as? String == "Overloaded" && error["type"] as? String == "server_error" && error["code"] as? String == "overloaded_error")
        let plain = MessagesToChat.error(Array("upstream exploded".utf8), status: 502)
        #expect(String(decoding: plain, as: UTF8.self).contains("upstream exploded"))
        #expect(throws: TranslationError.self) { try MessagesToChat.response(Array("{\"content\":[".utf8), created: 0) }
    }
}

@Suite struct OpenAIForAnthropicTests {
    func object(_ bytes: [UInt8]) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
    }

    @Test func aClaudeCodeStyleTurnCarriesToChat() throws {
        let body = #"""
            {"model":"claude","max_tokens":2000,"system":[{"type":"text","text":"You are Claude Code."},{"type":"text","text":"Be careful."}],
             "thinking":{"type":"enabled","budget_tokens":1024},"stop_sequences":["X"],"metadata":{"user_id":"u"},
             "tools":[{"name":"Bash","description":"Run","input_schema":{"type":"object","properties":{"command":{"type":"string"}}}}],
             "tool_choice":{"type":"any","disable_parallel_tool_use":true},
             "messages":[
              {"role":"user","content":[{"type":"text","text":"List files"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AAAA"}}]},
              {"role":"assistant","content":[{"type":"thinking","thinking":"hmm","signature":"s"},{"type":"text","text":"Running."},{"type":"tool_use","id":"toolu_1","name":"Bash","input":{"command":"ls"}}]},
              {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":[{"type":"text","text":"a.txt"}]},{"type":"text","text":"And now?"}]}
             ]}
            """#
        let out = try object(try OpenAIForAnthropic.request(Array(body.utf8), model: "gpt-4.1"))
        #expect(out["model"] as? String == "gpt-4.1" && out["max_completion_tokens"] as? Int == 2000 && out["reasoning_effort"] as? String == "low")
        #expect(out["stop"] as? [String] == ["X"] && out["user"] as? String == "u" && out["tool_choice"] as? String == "required")
        #expect(out["parallel_tool_calls"] as? Bool == false)
        let messages = try #require(out["messages"] as? [[String: Any]])
        #expect(messages.map { $0["role"] as? String } == ["system", "user", "assistant", "tool", "user"])
        #expect(messages[0]["content"] as? String == "You are Claude Code.\nBe careful.")
        let image = try #require((messages[1]["content"] as? [[String: Any]])?[1]["image_url"] as? [String: String])
        #expect(image["url"] == "data:image/png;base64,AAAA")
        #expect(messages[2]["content"] as? String == "Running.")
        let call = try #require((messages[2]["tool_calls"] as? [[String: Any]])?.first)
        #expect((call["function"] as? [String: String])?["arguments"] == #"{"command":"ls"}"#)
        #expect(messages[3]["tool_call_id"] as? String == "toolu_1" && messages[3]["content"] as? String == "a.txt")
        let tool = try #require((out["tools"] as? [[String: Any]])?.first?["function"] as? [String: Any])
        #expect(tool["name"] as? String == "Bash" && (tool["parameters"] as? [String: Any])?["type"] as? String == "object")
    }

    @Test func answersAndErrorsComeBackInAnthropicsShape() throws {
        let answer = try object(
            try OpenAIForAnthropic.response(
                Array(
                    #"""
                    {"id":"chatcmpl-1","model":"gpt-4.1","choices":[{"index":0,"finish_reason":"tool_calls","message":{"role":"assistant","content":"Checking.",
                     "tool_calls":[{"id":"call_1","type":"function","function":{"name":"Bash","arguments":"{\"command\":\"ls\"}"}}]}}],
                     "usage":{"prompt_tokens":1200,"completion_tokens":30,"prompt_tokens_details":{"cached_tokens":1000}}}
                    """#.utf8)))
        #expect(answer["type"] as? String == "message" && answer["stop_reason"] as? String == "tool_use" && answer["id"] as? String == "msg_chatcmpl-1")
        let content = try #require(answer["content"] as? [[String: Any]])
        #expect(content.map { $0["type"] as? String } == ["text", "tool_use"] && (content[1]["input"] as? [String: String]) == ["command": "ls"])
        let usage = try #require(answer["usage"] as? [String: Int])
        #expect(usage["input_tokens"] == 200 && usage["cache_read_input_tokens"] == 1000 && usage["output_tokens"] == 30)
        let error = try object(
            OpenAIForAnthropic.error(Array(#"{"error":{"message":"Slow down","type":"requests","code":"rate_limit_exceeded"}}"#.utf8), status: 429))
        #expect((error["error"] as? [String: String]) == ["type": "rate_limit_error", "message": "Slow down"] && error["type"] as? String == "error")
        #expect(throws: TranslationError.self) {
            try OpenAIForAnthropic.response(Array(#"{"choices":[{"message":{"tool_calls":[{"function":{"name":"f","arguments":"not json"}}]}}]}"#.utf8))
        }
    }

    @Test(arguments: [
        (#"{"model":"c","max_tokens":5,"top_k":3,"messages":[]}"#, "'top_k'"),
        (#"{"model":"c","max_tokens":5,"stop_sequences":["a","b","c","d","e"],"messages":[]}"#, "at most 4 stop sequences"),
        (#"{"model":"c","max_tokens":5,"tools":[{"type":"web_search_20250305","name":"web_search"}],"messages":[]}"#, "not server tools"),
        (#"{"model":"c","max_tokens":5,"messages":[{"role":"user","content":[{"type":"document","source":{}}]}]}"#, "'document' blocks"),
        (#"{"model":"c","max_tokens":5,"container":"x","messages":[]}"#, "'container' has no equivalent"),
    ])
    func whatHasNoEquivalentIsRefused(body: String, expected: String) {
        do {
            _ = try OpenAIForAnthropic.request(Array(body.utf8), model: "gpt")
            Issue.record("expected a refusal")
        } catch {
            #expect(error.message.contains(expected), "\(error.message)")
        }
    }
}
