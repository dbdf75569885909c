import CByteScan
import Foundation
import StratesTestSupport
import Testing

@testable import StratesWire

@Suite struct JSONScannerTests {
    func members(_ text: String) throws -> [String: String] {
        let bytes = Array(text.utf8)
        return try JSONView(object: bytes).members().mapValues(\.rawText)
    }

    @Test func readsTopLevelMembersAsRawBytes() throws {
        let found = try members(#" { "model" : "gpt-4o", "messages": [{"content": "a \"}\" b"}], "stream":true, "n": -1.5e3 } "#)
        #expect(found["model"] == #""gpt-4o""#)
        #expect(found["stream"] == "true")
        #expect(found["n"] == "-1.5e3")
        #expect(found["messages"] == #"[{"content": "a \"}\" b"}]"#)
    }

    @Test(arguments: [
        "", "{", "[]", #"{"a"}"#, #"{"a":}"#, #"{"a":1,}"#, #"{"a":1 "b":2}"#, #"{"a":[1,2}"#, #"{"a":"x"#,
        #"{"a":tru}"#, #"{"a":1} x"#, "{\"a\":\"\u{01}\"}", #"{a:1}"#,
    ])
    func rejectsMalformed(text: String) {
        #expect(throws: (any Error).self) { try JSONView(object: Array(text.utf8)) }
    }

    /// Property: the eight-bytes-at-a-time string skipper ends where, and fails where, a
    /// byte-at-a-time reading does, for strings with quotes, escapes, control characters and
    /// multi-byte UTF-8 at every offset, terminated or not.
    @Test func stringSkipperMatchesByteAtATime() throws {
        func reference(_ bytes: [UInt8]) -> Result<Int, JSONScanner.Error> {
            var index = 1
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") { return .success(index + 1) }
                if byte == UInt8(ascii: "\\") {
                    index += 2
                } else if byte < 0x20 {
                    return .failure(JSONScanner.Error(offset: index, reason: "control character in string"))
                } else {
                    index += 1
                }
            }
            return .failure(JSONScanner.Error(offset: 0, reason: "unterminated string"))
        }
        var random = SeededRandom(105)
        let alphabet: [[UInt8]] = ["a", "\"", "\\", "\\\"", "\u{01}", "\n", "é", "😀", "bcdefghijklmnop", " "].map { Array($0.utf8) }
        for _ in 0..<3000 {
            var bytes: [UInt8] = [UInt8(ascii: "\"")]
            for _ in 0..<Int.random(in: 0...40, using: &random) {
                let piece = alphabet.randomElement(using: &random)!
                // Mostly plain text, so that whole words are skipped too.
                bytes += Int.random(in: 0..<4, using: &random) == 0 ? piece : Array(repeating: UInt8(ascii: "x"), count: Int.random(in: 1...20, using: &random))
            }
            let got: Result<Int, JSONScanner.Error> = bytes.withUnsafeBytes { buffer in
                var scanner = JSONScanner(buffer)
                do {
                    _ = try scanner.skipString()
                    return .success(scanner.index)
                } catch let error as JSONScanner.Error {
                    return .failure(error)
                } catch {
                    return .failure(JSONScanner.Error(offset: -1, reason: "\(error)"))
                }
            }
            #expect(got == reference(bytes), "\(bytes)")
        }
    }

    /// The C scan behind long strings, at every length and stop position around its 16-byte
    /// steps, with every kind of stop byte and bytes that look like them only when signed.
    @Test func longStringScanFindsTheFirstStopAtEveryOffset() {
        for length in 0...70 {
            let plain = [UInt8](repeating: UInt8(ascii: "x"), count: length)
            #expect(plain.withUnsafeBytes { strates_json_string_stop($0.baseAddress, length) } == length)
            for stop in 0..<length {
                for byte: UInt8 in [0x22, 0x5C, 0x00, 0x1F, 0x0A] {
                    var bytes = plain
                    bytes[stop] = byte
                    // Bytes after the stop, including high ones (0x80...0xFF) that a signed
                    // comparison would take for control characters, must not matter.
                    for after in (stop + 1)..<length where after % 3 == 0 { bytes[after] = after % 2 == 0 ? 0xFF : 0x22 }
                    let found = bytes.withUnsafeBytes { strates_json_string_stop($0.baseAddress, length) }
                    #expect(found == stop, "length \(length), \(byte) at \(stop): found \(found)")
                }
            }
            let high = [UInt8](repeating: 0xC3, count: length)
            #expect(high.withUnsafeBytes { strates_json_string_stop($0.baseAddress, length) } == length)
        }
    }

    @Test func decodesEscapes() throws {
        let view = try JSONView(object: Array(#"{"s":"a\n\u00e9\ud83d\ude00\"\\\/"}"#.utf8))
        #expect(view["s"]?.string == "a\né😀\"\\/")
        #expect(try JSONView(object: Array(#"{"s":"\ud83d"}"#.utf8))["s"]?.string == nil)
    }

    @Test func integersAcceptWholeFloatsOnly() throws {
        let view = try JSONView(object: Array(#"{"a":12,"b":12.0,"c":12.5,"d":"12"}"#.utf8))
        #expect(view["a"]?.int64 == 12)
        #expect(view["b"]?.int64 == 12)
        #expect(view["c"]?.int64 == nil)
        #expect(view["d"]?.int64 == nil)
    }

    @Test func deepNestingIsRefusedNotCrashed() {
        let deep = #"{"a":"# + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "}"
        #expect(throws: (any Error).self) { try JSONView(object: Array(deep.utf8)) }
    }

    /// Property: for random JSON objects, the scanner finds exactly the keys a full parser
    /// finds, and each raw value parses to the same thing.
    @Test func agreesWithFoundationOnRandomDocuments() throws {
        var random = SeededRandom(106)
        for _ in 0..<300 {
            let object = randomObject(depth: 0, using: &random)
            let data = try JSONSerialization.data(withJSONObject: object)
            let view = try JSONView(object: Array(data))
            let found = view.members()
            #expect(Set(found.keys) == Set(object.keys))
            let parsed = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            for (key, value) in found {
                let reparsed = try JSONSerialization.jsonObject(with: Data(value.raw), options: [.fragmentsAllowed])
                let canonical = { (value: Any) in try JSONSerialization.data(withJSONObject: [value], options: [.sortedKeys]) }
                #expect(try canonical(reparsed) == canonical(parsed[key]!))
            }
        }
    }

    /// Property: asking for some keys gives exactly those members of the full reading,
    /// whether the keys arrive as a list or a set, escaped spellings of a key included.
    @Test func wantedKeysAreTheFullReadingFiltered() throws {
        var random = SeededRandom(107)
        for _ in 0..<300 {
            let object = randomObject(depth: 0, using: &random)
            let view = try JSONView(object: Array(try JSONSerialization.data(withJSONObject: object)))
            let all = view.members().mapValues(\.rawText)
            var keys = Array(object.keys.shuffled(using: &random).prefix(Int.random(in: 0...3, using: &random)))
            keys.append("absent")
            let expected = all.filter { keys.contains($0.key) }
            #expect(view.members(keys).mapValues(\.rawText) == expected)
            #expect(view.members(Set(keys)).mapValues(\.rawText) == expected)
        }
        let escaped = try JSONView(object: Array(#"{"mo\u0064el":"a","x":{"model":"inner"},"stream":true}"#.utf8))
        #expect(escaped.members(["model", "stream"]).mapValues(\.rawText) == ["model": #""a""#, "stream": "true"])
        #expect(escaped.members([]).isEmpty)
        #expect(escaped.members().count == 3)
    }

    /// Fuzz: truncations and byte flips of valid documents never crash the scanner.
    @Test func survivesTruncationAndCorruption() throws {
        var random = SeededRandom(108)
        for _ in 0..<200 {
            let data = Array(try JSONSerialization.data(withJSONObject: randomObject(depth: 0, using: &random)))
            for cut in stride(from: 0, to: data.count, by: max(1, data.count / 17)) {
                _ = try? JSONView(object: Array(data[..<cut]))
            }
            var corrupted = data
            for _ in 0..<3 { corrupted[Int.random(in: 0..<corrupted.count, using: &random)] = UInt8.random(in: 0...255, using: &random) }
            if let view = try? JSONView(object: corrupted) {
                for (_, value) in view.members() {
                    _ = value.string
                    _ = value.int64
                    _ = value.elements()
                }
            }
            _ = try? RequestSummary.inspect(corrupted, api: .messages)
        }
    }

    func randomObject(depth: Int, using random: inout SeededRandom) -> [String: Any] {
        var object: [String: Any] = [:]
        for index in 0..<Int.random(in: 0...5, using: &random) {
            object["k\(index)\(["", "é", "\"q\"", "\\", "\n"][Int.random(in: 0...4, using: &random)])"] = randomValue(depth: depth + 1, using: &random)
        }
        return object
    }

    func randomValue(depth: Int, using random: inout SeededRandom) -> Any {
        switch Int.random(in: 0...(depth > 3 ? 3 : 5), using: &random) {
        case 0: return Int.random(in: -1_000_000...1_000_000, using: &random)
        case 1: return ["plain", "with \"quotes\"", "tab\tnew\nline", "emoji 😀", "{[not structure]}"][Int.random(in: 0...4, using: &random)]
        case 2: return Bool.random(using: &random)
        case 3: return NSNull()
        case 4: return (0..<Int.random(in: 0...4, using: &random)).map { _ in randomValue(depth: depth + 1, using: &random) }
        default: return randomObject(depth: depth, using: &random)
        }
    }
}

@Suite struct RequestSummaryTests {
    @Test func readsTheFieldsTheGatewayNeeds() throws {
        let body = Array(#"{"model":"claude-sonnet-4-5","max_tokens":1024,"stream":true,"metadata":{"user_id":"u-1"},"messages":[]}"#.utf8)
        let summary = try RequestSummary.inspect(body, api: .messages)
        #expect(summary.model == "claude-sonnet-4-5")
        #expect(summary.maxTokens == 1024)
        #expect(summary.stream)
        #expect(summary.metadataUserID == "u-1")
    }

    @Test(arguments: [
        (#"{"messages":[]}"#, "model"), (#"{"model":7}"#, "model"), (#"{"model":""}"#, "model"),
        (#"{"model":"m","stream":"yes"}"#, "stream"), (#"{"model":"m","max_tokens":-1}"#, "max_tokens"),
        (#"{"model":"m","max_tokens":1.5}"#, "max_tokens"),
    ])
    func explainsBadFields(body: String, param: String) {
        #expect(throws: RequestBodyError.self) { try RequestSummary.inspect(Array(body.utf8), api: .chatCompletions) }
        do {
            _ = try RequestSummary.inspect(Array(body.utf8), api: .chatCompletions)
        } catch {
            #expect(error.param == param)
        }
    }

    @Test func embeddingsNeverStream() throws {
        #expect(try RequestSummary.inspect(Array(#"{"model":"e","stream":true,"input":"x"}"#.utf8), api: .embeddings).stream == false)
    }
}

@Suite struct RequestRewriteTests {
    func rewrite(_ text: String) throws -> String {
        let body = Array(text.utf8)
        let summary = try RequestSummary.inspect(body, api: .chatCompletions)
        return String(decoding: RequestRewrite.requestingStreamUsage(in: body, summary: summary), as: UTF8.self)
    }

    @Test func insertsIncludeUsageAndKeepsEverythingElse() throws {
        let out = try rewrite(#"{"model":"m","stream":true,"x_unknown":{"deep":[1,2]}}"#)
        #expect(out == #"{"stream_options":{"include_usage":true},"model":"m","stream":true,"x_unknown":{"deep":[1,2]}}"#)
    }

    @Test func mergesWithExistingOptions() throws {
        let out = try rewrite(#"{"model":"m","stream_options":{"include_obfuscation":false,"include_usage":false}}"#)
        #expect(out == #"{"model":"m","stream_options":{"include_obfuscation":false,"include_usage":true}}"#)
        let view = try JSONView(object: Array(out.utf8))
        #expect(view.path("stream_options", "include_usage")?.bool == true)
    }

    @Test func leavesClientRequestAlone() throws {
        let text = #"{"model":"m","stream_options":{"include_usage":true}}"#
        #expect(try rewrite(text) == text)
    }

    @Test func splicesOnlyTheModel() throws {
        let text = #"{"model" :  "alias", "messages":[{"role":"user","content":"model"}]}"#
        let body = Array(text.utf8)
        let summary = try RequestSummary.inspect(body, api: .chatCompletions)
        let out = String(decoding: RequestRewrite.replacingModel(in: body, summary: summary, with: "gpt-\"4o"), as: UTF8.self)
        #expect(out == #"{"model" :  "gpt-\"4o", "messages":[{"role":"user","content":"model"}]}"#)
    }
}
