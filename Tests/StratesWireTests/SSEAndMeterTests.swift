import Foundation
import StratesTestSupport
import Testing

@testable import StratesCore
@testable import StratesProviders
@testable import StratesWire

@Suite struct SSEDecoderTests {
    @Test func decodesFieldsCommentsAndLineEndings() {
        var decoder = SSEDecoder()
        let events = decoder.feed(Array(": comment\r\nevent: a\r\ndata: one\r\ndata:two\r\n\r\nid: 7\ndata: x\n\n\rdata: y\r\r".utf8))
        #expect(events.map(\.event) == ["a", nil, nil])
        #expect(events.map(\.dataText) == ["one\ntwo", "x", "y"])
        #expect(events[1].id == "7")
    }

    @Test func keepsRawBytesForReemission() {
        var decoder = SSEDecoder()
        let text = "event: ping\ndata: {}\n\n"
        let events = decoder.feed(Array(text.utf8))
        #expect(events.first?.raw == Array(text.utf8))
    }

    /// Property: however a stream is split into chunks, the same events come out.
    @Test func chunkingNeverChangesEvents() {
        let stream = Array((0..<40).map { "event: e\($0 % 3)\r\ndata: {\"i\":\($0)}\ndata: second line\n\n" }.joined().utf8)
        var whole = SSEDecoder()
        let expected = whole.feed(stream)
        #expect(expected.count == 40)
        var random = SeededRandom(112)
        for _ in 0..<200 {
            var decoder = SSEDecoder()
            var got: [SSEEvent] = []
            var index = 0
            while index < stream.count {
                let size = Int.random(in: 1...37, using: &random)
                got += decoder.feed(stream[index..<min(stream.count, index + size)])
                index += size
            }
            #expect(got.map(\.dataText) == expected.map(\.dataText))
            #expect(got.map(\.event) == expected.map(\.event))
        }
    }

    /// Fuzz: random bytes never crash it, and a size cap bounds what it holds.
    @Test func survivesGarbageAndBoundsMemory() {
        var random = SeededRandom(113)
        var decoder = SSEDecoder(maxEventBytes: 4096)
        for _ in 0..<500 {
            let chunk = (0..<Int.random(in: 0...300, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            _ = decoder.feed(chunk)
            #expect(decoder.pendingBytes <= 4096 + 300)
        }
        var big = SSEDecoder(maxEventBytes: 1000)
        _ = big.feed(Array(repeating: UInt8(ascii: "a"), count: 5000))
        #expect(big.overflowed)
    }

    /// Property: reading in bulk (a raw buffer per chunk, as the stream relay does) gives
    /// what reading one byte at a time gives, events, raw bytes, leftovers and overflow
    /// included, for random streams with every line ending and events past the size cap.
    @Test func bulkReadingMatchesByteAtATime() {
        var random = SeededRandom(114)
        let pieces: [[UInt8]] = ["data: ", "event: x", "\n", "\r", "\r\n", ": c", "id: 3", "{\"a\":1}", "zzzzzzzzzzzzzzzzzzzzzzzzzz", ""]
            .map { Array($0.utf8) }
        for _ in 0..<300 {
            var stream: [UInt8] = []
            for _ in 0..<Int.random(in: 0...80, using: &random) { stream += pieces.randomElement(using: &random)! }
            var reference = SSEDecoder(maxEventBytes: 40)
            var expected: [SSEEvent] = []
            for byte in stream { expected += [byte].withUnsafeBytes { reference.feed($0) } }
            var bulk = SSEDecoder(maxEventBytes: 40)
            var got: [SSEEvent] = []
            var index = 0
            while index < stream.count {
                let end = min(stream.count, index + Int.random(in: 1...64, using: &random))
                got += stream[index..<end].withUnsafeBytes { bulk.feed($0) }
                index = end
            }
            #expect(got == expected)
            #expect(bulk.overflowed == reference.overflowed)
            #expect(bulk.takePending() == reference.takePending())
        }
    }
}

/// Real event sequences, as the providers send them.
enum Fixtures {
    static func sse(_ events: [(String?, String)]) -> [UInt8] {
        Array(events.map { (event, data) in (event.map { "event: \($0)\n" } ?? "") + "data: \(data)\n\n" }.joined().utf8)
    }

    static let anthropicStream = sse([
        (
            "message_start",
            #"{"type":"message_start","message":{"id":"msg_01","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":12,"cache_creation_input_tokens":2000,"cache_read_input_tokens":30000,"cache_creation":{"ephemeral_5m_input_tokens":1500,"ephemeral_1h_input_tokens":500},"output_tokens":8,"service_tier":"standard"}}}"#
        ),
        ("content_block_start", #"{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}"#),
        ("ping", #"{"type": "ping"}"#),
        ("content_block_delta", #"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Let me think."}}"#),
        (
            "content_block_delta",
            #"{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"}}"#
        ),
        ("content_block_stop", #"{"type":"content_block_stop","index":0}"#),
        ("content_block_start", #"{"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}"#),
        ("content_block_delta", #"{"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"Hello there"}}"#),
        ("content_block_stop", #"{"type":"content_block_stop","index":1}"#),
        ("message_delta", #"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":108}}"#),
        ("message_stop", #"{"type":"message_stop"}"#),
    ])

    static let chatStream = sse([
        (
            nil,
            #"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}],"usage":null}"#
        ),
        (
            nil,
            #"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}],"usage":null}"#
        ),
        (
            nil,
            #"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":null}"#
        ),
        (
            nil,
            #"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-2024-08-06","choices":[],"usage":{"prompt_tokens":1234,"completion_tokens":56,"total_tokens":1290,"prompt_tokens_details":{"cached_tokens":1024,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":12,"audio_tokens":0}}}"#
        ),
        (nil, "[DONE]"),
    ])

    static let responsesStream = sse([
        (
            "response.created",
            #"{"type":"response.created","sequence_number":0,"response":{"id":"resp_1","object":"response","status":"in_progress","model":"gpt-5-codex","output":[],"usage":null}}"#
        ),
        (
            "response.output_text.delta",
            #"{"type":"response.output_text.delta","sequence_number":1,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"Done."}"#
        ),
        (
            "response.completed",
            #"{"type":"response.completed","sequence_number":2,"response":{"id":"resp_1","object":"response","status":"completed","model":"gpt-5-codex","output":[],"usage":{"input_tokens":5000,"input_tokens_details":{"cached_tokens":4096},"output_tokens":300,"output_tokens_details":{"reasoning_tokens":256},"total_tokens":5300}}}"#
        ),
    ])
}

@Suite struct UsageMeterTests {
    func meter(_ api: APIKind, _ bytes: [UInt8]) -> UsageMeter {
        var meter = UsageMeter(api: api)
        var decoder = SSEDecoder()
        for event in decoder.feed(bytes) { meter.observe(event: event) }
        return meter
    }

    @Test func anthropicStreamKeepsFinalOutputAndTTLSplit() {
        let m = meter(.messages, Fixtures.anthropicStream)
        #expect(m.finished)
        #expect(m.usage == Usage(input: 12, output: 108, cacheRead: 30000, cacheWrite5m: 1500, cacheWrite1h: 500))
        #expect(m.responseModel == "claude-sonnet-4-5-20250929")
    }

    @Test func chatStreamSplitsCachedTokensOut() {
        let m = meter(.chatCompletions, Fixtures.chatStream)
        #expect(m.usage == Usage(input: 210, output: 56, cacheRead: 1024, reasoning: 12))
        #expect(m.finished)
    }

    @Test func usageOnAChunkWithChoicesIsStillRead() {
        let bytes = Fixtures.sse([
            (nil, #"{"id":"x","choices":[{"index":0,"delta":{"content":"a"},"finish_reason":"stop"}],"usage":{"prompt_tokens":10,"completion_tokens":2}}"#),
            (nil, "[DONE]"),
        ])
        var m = UsageMeter(api: .chatCompletions)
        var decoder = SSEDecoder()
        var hidden = 0
        for event in decoder.feed(bytes) where m.observe(event: event) { hidden += 1 }
        #expect(m.usage == Usage(input: 10, output: 2))
        #expect(hidden == 0, "a chunk that carries choices must never be hidden from the client")
    }

    @Test func responsesUsageComesFromCompletedEvent() {
        let m = meter(.responses, Fixtures.responsesStream)
        #expect(m.usage == Usage(input: 904, output: 300, cacheRead: 4096, reasoning: 256))
        #expect(m.finished)
    }

    @Test func cutAnthropicStreamEstimatesOutputFromText() {
        let cut = Array(Fixtures.anthropicStream.prefix(while: { _ in true }).prefix(1300))
        let m = meter(.messages, cut)
        #expect(!m.finished)
        #expect(!m.hasFinalUsage)
        let estimate = m.estimatedUsage(inputEstimate: 999)
        #expect(estimate.input == 12, "input reported by message_start is kept")
        #expect(estimate.cacheRead == 30000)
        #expect(estimate.output >= 8)
    }

    @Test func serviceTierIsReadWhereEachAPIReportsIt() {
        var chat = UsageMeter(api: .chatCompletions)
        chat.observe(body: Array(#"{"id":"c","service_tier":"flex","usage":{"prompt_tokens":1,"completion_tokens":1}}"#.utf8))
        #expect(ServiceTier(reported: chat.serviceTier) == .batch)
        var anthropic = UsageMeter(api: .messages)
        anthropic.observe(body: Array(#"{"id":"m","usage":{"input_tokens":1,"output_tokens":1,"service_tier":"priority"}}"#.utf8))
        #expect(ServiceTier(reported: anthropic.serviceTier) == .priority)
        #expect(meter(.messages, Fixtures.anthropicStream).serviceTier == "standard")
        #expect(ServiceTier(reported: "default") == .standard)
        #expect(ServiceTier(reported: nil).nonStandard == nil)
    }

    @Test func wholeBodies() {
        var chat = UsageMeter(api: .chatCompletions)
        chat.observe(
            body: Array(
                #"{"id":"c","model":"gpt-4o","choices":[],"usage":{"prompt_tokens":100,"completion_tokens":20,"prompt_tokens_details":{"cached_tokens":40}}}"#
                    .utf8))
        #expect(chat.usage == Usage(input: 60, output: 20, cacheRead: 40))
        var anthropic = UsageMeter(api: .messages)
        anthropic.observe(
            body: Array(
                #"{"id":"m","model":"claude","usage":{"input_tokens":5,"cache_creation_input_tokens":7,"cache_read_input_tokens":9,"output_tokens":3}}"#.utf8))
        #expect(anthropic.usage == Usage(input: 5, output: 3, cacheRead: 9, cacheWrite5m: 7))
        var embeddings = UsageMeter(api: .embeddings)
        embeddings.observe(body: Array(#"{"object":"list","data":[],"usage":{"prompt_tokens":8,"total_tokens":8}}"#.utf8))
        #expect(embeddings.usage == Usage(input: 8))
        var broken = UsageMeter(api: .chatCompletions)
        broken.observe(body: Array(#"{"id": "x", "usage": {"prompt_tok"#.utf8))
        #expect(broken.usage == nil)
    }

    /// Fuzz: every truncation of a real stream is metered without crashing, and never
    /// reports more than the complete stream.
    @Test func everyTruncationIsSafe() {
        for (api, fixture) in [(APIKind.messages, Fixtures.anthropicStream), (.chatCompletions, Fixtures.chatStream), (.responses, Fixtures.responsesStream)] {
            let full = meter(api, fixture).usage!
            for cut in 0...fixture.count {
                let m = meter(api, Array(fixture[..<cut]))
                let estimate = m.estimatedUsage(inputEstimate: 1)
                #expect(estimate.output <= max(full.output, Int64(fixture.count)))
            }
        }
    }
}

@Suite struct ErrorBodyTests {
    @Test func shapesMatchEachAPI() throws {
        let openAI = try JSONView(object: ErrorBody.render(format: .openAI, status: 401, type: nil, message: "no \"key\"", code: "invalid_api_key"))
        #expect(openAI.path("error", "message")?.string == "no \"key\"")
        #expect(openAI.path("error", "code")?.string == "invalid_api_key")
        #expect(openAI.path("error", "type")?.string == "authentication_error")
        let anthropic = try JSONView(object: ErrorBody.render(format: .anthropic, status: 429, type: nil, message: "slow down"))
        #expect(anthropic["type"]?.string == "error")
        #expect(anthropic.path("error", "type")?.string == "rate_limit_error")
    }
}

@Suite struct SimDistributionTests {
    func draws(_ settings: SimSettings, count: Int = 2000) -> [Int] {
        var random = SimRandom(seed: 42)  // the simulated provider draws from its own generator
        return (0..<count).map { _ in settings.drawOutputTokens(&random) }
    }

    @Test func distributionsStayInRangeAndHaveTheirShape() {
        var settings = SimSettings()
        settings.outputTokensMin = 10
        settings.outputTokensMax = 4000
        let uniform = draws(settings)
        #expect(uniform.allSatisfy { (10...4000).contains($0) })
        settings.outputDistribution = .fixed
        settings.outputTokensMean = 123
        #expect(Set(draws(settings)) == [123])
        settings.outputDistribution = .lognormal
        settings.outputTokensMean = 200
        let lognormal = draws(settings).sorted()
        #expect(lognormal.allSatisfy { (10...4000).contains($0) })
        let median = lognormal[lognormal.count / 2]
        #expect((170...230).contains(median), "median \(median) should sit near the configured 200")
        #expect(lognormal[lognormal.count * 95 / 100] > 2 * median, "a long tail")
    }
}

@Suite struct FirstTokenTests {
    @Test func theOpeningRoleChunkIsNotTheFirstToken() {
        var meter = UsageMeter(api: .chatCompletions)
        var decoder = SSEDecoder()
        let opening = Fixtures.sse([(nil, #"{"id":"c","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}"#)])
        for event in decoder.feed(opening) { meter.observe(event: event) }
        #expect(!meter.sawFirstToken)
        let token = Fixtures.sse([(nil, #"{"id":"c","choices":[{"index":0,"delta":{"content":"Hi"}}]}"#)])
        for event in decoder.feed(token) { meter.observe(event: event) }
        #expect(meter.sawFirstToken)
    }
}

@Suite struct FirstTokenMeterTests {
    func meter(_ events: [(String, String)]) -> UsageMeter {
        var meter = UsageMeter(api: .messages)
        for (name, data) in events { _ = meter.observe(event: SSEEvent(event: name, data: Array(data.utf8))) }
        return meter
    }

    @Test func anEmptyTextBlockIsNotTheFirstTokenButAToolCallsBlockIs() {
        let start = ("message_start", #"{"type":"message_start","message":{"id":"m","model":"claude","usage":{"input_tokens":5,"output_tokens":1}}}"#)
        let textBlock = ("content_block_start", #"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#)
        let thinking = ("content_block_start", #"{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}}"#)
        #expect(!meter([start, textBlock]).sawFirstToken && !meter([start, thinking]).sawFirstToken)
        let delta = ("content_block_delta", #"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}"#)
        #expect(meter([start, textBlock, delta]).sawFirstToken)
        let tool = ("content_block_start", #"{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"t","name":"run","input":{}}}"#)
        #expect(meter([start, tool]).sawFirstToken)
    }
}
