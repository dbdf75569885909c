import Foundation
import StratesCore
import StratesGateway
import StratesLedger
import StratesLedgerSQLite
import StratesTestSupport
import StratesWire
import Testing

@testable import StratesAnalytics
@testable import StratesProviders

/// Claude Code transcripts into the ledger: each response once with its final usage, across
/// content-block lines, streamed partial counts, resumed-session copies and subagent files;
/// other lines ignored, malformed ones counted; a second import adds nothing.
@Suite struct ClaudeCodeImportTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("tests/fixtures/claude-code").path

    func importer() -> TranscriptImport {
        TranscriptImport(
            format: .claudeCode, attribution: Attribution(organization: "default", team: "platform", member: "ana"), pricing: Pricing(PriceCatalog.builtIn()))
    }

    @Test func eachResponseCountsOnceWithItsFinalUsage() async throws {
        let ledger = try SQLiteLedger(inMemory: ())
        let files = try TranscriptImport.transcripts(at: [Self.fixtures])
        #expect(files.count == 3)
        let summary = try await importer().run(files: files, store: ledger)
        #expect((summary.responseLines, summary.responses, summary.duplicates, summary.malformed) == (9, 5, 4, 1))
        #expect(summary.problems.first?.hasSuffix(".jsonl:11: not a JSON object") == true, "\(summary.problems)")
        #expect(summary.usage == Usage(input: 973, output: 488, cacheRead: 101_600, cacheWrite5m: 2_400, cacheWrite1h: 1_400))
        #expect(summary.added == 5 && summary.sessions == 2 && summary.unpricedResponses == 0)

        let rows = try await ledger.requests(organization: "default", environment: .production, from: .distantPast, to: .distantFuture)
        let first = try #require(rows.first { $0.upstreamRequestID == "req_01A" })
        // The streamed line said 8 output tokens; the final line of the same response 108.
        #expect(first.usage == Usage(input: 12, output: 108, cacheRead: 30_000, cacheWrite5m: 1_500, cacheWrite1h: 500))
        #expect(first.attribution.run == "5f1c2e9a-0000-4000-8000-000000000001" && first.attribution.workflow == "checkout-api")
        #expect(first.source == "claude-code" && first.provider == "anthropic" && first.servedModel == "claude-sonnet-4-5-20250929")
        #expect(first.cost == Pricing(PriceCatalog.builtIn()).cost(of: first) && first.cost != nil)
        // Ids are `imp_cc_` and the first 24 hex digits of the identity's SHA-256, as every
        // earlier version made them: a ledger imported by one is not imported twice by another.
        #expect(first.id == "imp_cc_" + KeySecrets.hash("msg_01A:req_01A").prefix(24))
        let identities = ["msg_01A:req_01A", "msg_01B:req_01B", "5f1c2e9a-0000-4000-8000-000000000001:msg_01C", "msg_01S:req_01S", "msg_02A:req_02A"]
        #expect(Set(rows.map(\.id)) == Set(identities.map { "imp_cc_" + KeySecrets.hash($0).prefix(24) }))
        let sub = try #require(rows.first { $0.upstreamRequestID == "req_01S" })
        #expect(sub.attribution.run == "5f1c2e9a-0000-4000-8000-000000000001/ad2d877")
        #expect(sub.attribution.parentRun == "5f1c2e9a-0000-4000-8000-000000000001" && sub.attribution.process == "subagent")
        let context = try #require(try await ledger.runContext("5f1c2e9a-0000-4000-8000-000000000002"))
        #expect(context.cwd == "/home/ana/src/checkout-api" && context.gitBranch == "main" && context.source == "claude-code")
    }

    @Test func importingAgainAddsNothingAndMoreCompleteUsageUpdates() async throws {
        let ledger = try SQLiteLedger(inMemory: ())
        let files = try TranscriptImport.transcripts(at: [Self.fixtures])
        _ = try await importer().run(files: files, store: ledger)
        // Files unchanged since the last import into this ledger are not read again.
        let again = try await importer().run(files: files, store: ledger)
        #expect((again.files, again.unchangedFiles, again.lines, again.responses, again.added) == (3, 3, 0, 0, 0))
        // Read again on request, they add nothing either.
        var everything = importer()
        everything.skipUnchangedFiles = false
        let reread = try await everything.run(files: files, store: ledger)
        #expect((reread.unchangedFiles, reread.added, reread.updated, reread.unchanged) == (0, 0, 0, 5))
        #expect(try await ledger.requestCount() == 5)

        // A transcript read while its last response was still streaming, then read again.
        let directory = NSTemporaryDirectory() + "strates-cc-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/s.jsonl"
        func line(_ output: Int) -> String {
            #"{"type":"assistant","sessionId":"s-9","timestamp":"2026-11-22T08:00:00Z","requestId":"req_9","message":{"id":"msg_9","model":"claude-haiku-4-5","usage":{"input_tokens":10,"output_tokens":\#(output)}}}"#
        }
        try (line(8) + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let partial = try await importer().run(files: [path], store: ledger)
        #expect(partial.added == 1)
        try (line(8) + "\n" + line(300) + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        // The file grew, so it is read again, while the fixtures beside it would be skipped.
        let complete = try await importer().run(files: [path] + files, store: ledger)
        #expect((complete.unchangedFiles, complete.added, complete.updated) == (3, 0, 1))
        let rows = try await ledger.requests(organization: "default", environment: .production, from: .distantPast, to: .distantFuture)
        #expect(rows.first { $0.upstreamRequestID == "req_9" }?.usage.output == 300)
    }

    /// Files are remembered as read only when the whole import finished: after a failure,
    /// the next import reads them all again.
    @Test func aFailedImportRemembersNoFile() async throws {
        let ledger = try SQLiteLedger(inMemory: ())
        let files = try TranscriptImport.transcripts(at: [Self.fixtures])
        await #expect(throws: ImportError.self) { try await importer().run(files: files + ["/nonexistent/strates/x.jsonl"], store: ledger) }
        #expect(try await ledger.importedFiles(source: "claude-code").isEmpty)
        let next = try await importer().run(files: files, store: ledger)
        #expect((next.unchangedFiles, next.responses) == (0, 5))
        #expect(try await ledger.importedFiles(source: "claude-code").count == 3)
        #expect(try await ledger.importedFiles(source: "codex").isEmpty)
    }

    /// Files are read in batches while the batch before is written: a response copied
    /// into a file of a later batch (a resumed session) is written again only with more
    /// usage, and the summary still counts it once, by what the ledger held before.
    @Test(arguments: [0, 1, 3], [true, false]) func copiesInLaterBatchesCountOnceWithTheirFullestUsage(writesAhead: Int, bulk: Bool) async throws {
        let directory = NSTemporaryDirectory() + "strates-cc-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        func line(_ message: Int, session: Int, output: Int) -> String {
            #"{"type":"assistant","sessionId":"s\#(session)","requestId":"req_\#(message)","timestamp":"2026-11-22T08:00:\#(10 + message % 40).000Z","cwd":"/src/app","message":{"id":"msg_\#(message)","model":"claude-haiku-4-5","usage":{"input_tokens":10,"output_tokens":\#(output)}}}"#
        }
        // Batches of 16 files, written 40 responses at a time: response 3 is written before
        // a file of a later batch copies it with its final count, and another file copies
        // response 5 with a smaller, partial one.
        var importer = importer()
        importer.filesPerBatch = 16
        importer.responsesPerWrite = 40
        importer.writesAhead = writesAhead
        importer.bulkWhenEmpty = bulk
        let batch = 64
        for index in 0..<(batch + 22) {
            var text = line(index, session: index, output: index == 3 ? 8 : 100) + "\n"
            if index == batch + 10 { text += line(3, session: 3, output: 90) + "\n" }
            if index == batch + 20 { text += line(5, session: 5, output: 7) + "\n" }
            try text.write(toFile: directory + String(format: "/f%04d.jsonl", index), atomically: true, encoding: .utf8)
        }
        let files = try TranscriptImport.transcripts(at: [directory])
        let ledger = try SQLiteLedger(inMemory: ())
        var progress: [Int] = []
        var counted: [Int] = []
        let first = try await importer.run(files: files, store: ledger) { done, responses in
            progress.append(done)
            counted.append(responses)
        }
        let count = batch + 22
        #expect((first.responses, first.added, first.updated, first.duplicates) == (count, count, 0, 2))
        #expect(first.bulk == bulk)
        #expect(progress == Array(stride(from: 16, to: count, by: 16)) + [count])
        // Responses so far, each once, whether written, being written or waiting.
        #expect(counted == progress)
        #expect(first.usage.output == (count - 1) * 100 + 90)
        let rows = try await ledger.requests(organization: "default", environment: .production, from: .distantPast, to: .distantFuture)
        #expect(rows.count == count && rows.first { $0.upstreamRequestID == "req_3" }?.usage.output == 90)
        #expect(rows.first { $0.upstreamRequestID == "req_5" }?.usage.output == 100)
        #expect(try await ledger.usage(UsageQuery()).first?.usage.output == Int64((count - 1) * 100 + 90))

        // The same files against a ledger holding response 3 with its partial count only.
        let earlier = try SQLiteLedger(inMemory: ())
        _ = try await importer.run(files: [files[3]], store: earlier)
        let again = try await importer.run(files: files, store: earlier)
        #expect((again.added, again.updated, again.unchanged, again.bulk) == (count - 1, 1, 0, false))
        #expect(try await earlier.usage(UsageQuery()).first?.usage.output == Int64((count - 1) * 100 + 90))
    }

    /// Lines are lent where they lie in the reader's 1 MiB blocks: lines across a block's
    /// end, a line longer than a block, and a last line without its LF all read whole.
    @Test func linesAcrossBlocksReadWhole() async throws {
        let path = NSTemporaryDirectory() + "strates-cc-\(UUID().uuidString).jsonl"
        defer { try? FileManager.default.removeItem(atPath: path) }
        func response(_ number: Int, padding: Int) -> String {
            #"{"type":"assistant","sessionId":"s","requestId":"req_\#(number)","timestamp":"2026-11-22T08:00:00Z","message":{"id":"msg_\#(number)","model":"claude-haiku-4-5","content":[{"type":"text","text":"\#(String(repeating: "x", count: padding))"}],"usage":{"input_tokens":1,"output_tokens":\#(number)}}}"#
        }
        let user = #"{"type":"user","sessionId":"s","message":{"role":"user","content":"\#(String(repeating: "y", count: 1_500_000))"}}"#
        // Responses of sizes that put line ends on both sides of each block's end.
        var lines = (1...40).map { response($0, padding: 60_000 + $0 * 997) }
        lines.insert(user, at: 20)
        lines.append(response(41, padding: 3_000_000))
        try (lines.joined(separator: "\n") + "\n" + response(42, padding: 10)).write(toFile: path, atomically: true, encoding: .utf8)
        let summary = try await importer().run(files: [path], store: try SQLiteLedger(inMemory: ()))
        #expect((summary.lines, summary.responses, summary.malformed) == (43, 42, 0))
        #expect(summary.usage.output == Int64((1...42).reduce(0, +)))
    }

    @Test func linesThatAreNotResponsesAreToldApart() {
        let other = [
            #"{"type":"user","message":{"role":"user","content":"hi"},"sessionId":"s","timestamp":"2026-11-22T08:00:00Z"}"#,
            #"{"type":"summary","summary":"x","leafUuid":"u"}"#,
            #"{"type":"assistant","sessionId":"s","timestamp":"2026-11-22T08:00:00Z","message":{"id":"m","model":"claude-haiku-4-5","content":[]}}"#,
            #"{"type":"assistant","sessionId":"s","timestamp":"2026-11-22T08:00:00Z","isApiErrorMessage":true,"message":{"id":"m","model":"<synthetic>","usage":{"input_tokens":0,"output_tokens":0}}}"#,
        ]
        for text in other { #expect(ClaudeCodeTranscript.read(Array(text.utf8)) == .other, "\(text)") }
        let malformed = [
            "[1,2]", "{\"type\":\"assistant\"", "not json",
            #"{"type":"assistant","timestamp":"2026-11-22T08:00:00Z","message":{"id":"m","usage":{"input_tokens":1}}}"#,
            #"{"type":"assistant","sessionId":"s","timestamp":"yesterday","message":{"id":"m","usage":{"input_tokens":1}}}"#,
            #"{"type":"assistant","sessionId":"s","timestamp":"2026-11-22T08:00:00Z","message":{"usage":{"input_tokens":1}}}"#,
        ]
        for text in malformed {
            guard case .malformed = ClaudeCodeTranscript.read(Array(text.utf8)) else {
                Issue.record("expected malformed: \(text)")
                continue
            }
        }
    }

    @Test func mutatedLinesNeverCrashTheReader() {
        // Truncations and byte flips of a real-shaped line: every one is read as something.
        let line = Array(
            #"{"type":"assistant","sessionId":"s","requestId":"r","timestamp":"2026-11-22T08:00:00.5Z","message":{"id":"m","model":"claude-haiku-4-5","usage":{"input_tokens":3,"output_tokens":4,"cache_creation":{"ephemeral_5m_input_tokens":1}}}}"#
                .utf8)
        var random = SeededRandom(7)
        var responses = 0
        for _ in 0..<20_000 {
            var mutated = line
            switch Int.random(in: 0..<3, using: &random) {
            case 0: mutated = Array(mutated.prefix(Int.random(in: 0..<mutated.count, using: &random)))
            case 1: mutated[Int.random(in: 0..<mutated.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
            default: mutated.insert(contentsOf: Array("{[\"".utf8).shuffled(using: &random), at: Int.random(in: 0..<mutated.count, using: &random))
            }
            if case .response(let response) = ClaudeCodeTranscript.read(mutated) {
                responses += 1
                #expect(response.usage.output >= 0 && !response.messageID.isEmpty)
            }
        }
        #expect(responses > 0 && responses < 20_000)
    }

    /// The one-walk reader against Foundation's JSON parser: for every mutation of a
    /// real-shaped line that is still valid JSON, what the reader makes of it is what the
    /// parsed object says (type, ids, session, usage with its cache-write split).
    @Test func theReaderAgreesWithAFullJSONParser() throws {
        let line = Array(
            #"{"parentUuid":"p","isSidechain":false,"cwd":"/src/a\u00e9","sessionId":"s-1","gitBranch":"main","type":"assistant","message":{"model":"claude-sonnet-4-5","id":"msg_1","type":"message","role":"assistant","content":[{"type":"text","text":"a \"quoted\" {brace} [x]"},{"type":"tool_use","input":{"n":[1,2.5,-3e2,null,true]}}],"usage":{"input_tokens":12,"cache_creation_input_tokens":700,"cache_read_input_tokens":3400,"cache_creation":{"ephemeral_5m_input_tokens":200,"ephemeral_1h_input_tokens":500},"output_tokens":88,"service_tier":"standard"}},"requestId":"req_1","uuid":"u","timestamp":"2026-11-22T08:00:00.250Z"}"#
                .utf8)
        var random = SeededRandom(11)
        var compared = 0
        for round in 0..<30_000 {
            var mutated = line
            if round > 0 {
                let at = Int.random(in: 0..<mutated.count, using: &random)
                switch Int.random(in: 0..<3, using: &random) {
                case 0: mutated[at] = Array("0123456789\"{}[],: ae-.".utf8).randomElement(using: &random)!
                case 1: mutated.remove(at: at)
                default: mutated.insert(Array(" 07\"".utf8).randomElement(using: &random)!, at: at)
                }
            }
            let read = ClaudeCodeTranscript.read(mutated)
            // Foundation accepts a trailing comma (`{"a":1,}`), which JSON does not and the
            // reader rightly refuses: such a line is no oracle (a seed other than the default found it).
            let text = String(decoding: mutated, as: UTF8.self)
            guard !text.contains(",}"), !text.contains(",]") else { continue }
            guard let object = (try? JSONSerialization.jsonObject(with: Data(mutated))) as? [String: Any] else { continue }
            guard object["type"] as? String == "assistant", let message = object["message"] as? [String: Any],
                let usage = message["usage"] as? [String: Any], let id = message["id"] as? String, !id.isEmpty,
                let session = object["sessionId"] as? String, !session.isEmpty,
                let stamp = object["timestamp"] as? String, RFC3339.parse(stamp) != nil, message["model"] as? String != "<synthetic>"
            else { continue }
            func count(_ value: Any?) -> Int64? {
                guard let number = value as? NSNumber else { return nil }
                let double = number.doubleValue
                return double.rounded() == double && abs(double) < 9e18 ? Int64(exactly: double) : nil
            }
            let breakdown = usage["cache_creation"] as? [String: Any]
            let split = (count(breakdown?["ephemeral_5m_input_tokens"]), count(breakdown?["ephemeral_1h_input_tokens"]))
            let counts = [
                count(usage["input_tokens"]), count(usage["output_tokens"]), count(usage["cache_read_input_tokens"]),
                count(usage["cache_creation_input_tokens"]), split.0, split.1,
            ]
            guard counts.contains(where: { $0 != nil }) else { continue }
            let writes: (Int64, Int64) = split.0 != nil || split.1 != nil ? (split.0 ?? 0, split.1 ?? 0) : (counts[3] ?? 0, 0)
            let expected = Usage(input: counts[0] ?? 0, output: counts[1] ?? 0, cacheRead: counts[2] ?? 0, cacheWrite5m: writes.0, cacheWrite1h: writes.1)
            if expected.outOfBounds(Bounds.importedTokensPerRecord) != nil {
                // Negative or absurd counts are a malformed line, never a usage record.
                guard case .malformed = read else {
                    Issue.record("round \(round): out-of-bounds usage read as \(read)")
                    continue
                }
                compared += 1
                continue
            }
            guard case .response(let response) = read else {
                Issue.record("round \(round): \(read) for \(String(decoding: mutated, as: UTF8.self))")
                continue
            }
            compared += 1
            #expect(response.messageID == id && response.sessionID == session, "round \(round)")
            #expect(response.requestID == (object["requestId"] as? String).flatMap { $0.isEmpty ? nil : $0 }, "round \(round)")
            #expect(response.cwd == (object["cwd"] as? String).flatMap { $0.isEmpty ? nil : $0 }, "round \(round)")
            #expect(response.usage == expected, "round \(round)")
        }
        #expect(compared > 5_000)
    }

    @Test(arguments: [
        ("2026-01-25T18:16:50.773Z", 1_769_365_010.773), ("1970-01-01T00:00:00Z", 0), ("2024-02-29T23:59:59+01:00", 1_709_247_599),
        ("2026-11-20T09:00:03.120-05:30", 1_795_185_003.12),
    ])
    func timestampsAreReadExactly(text: String, seconds: Double) throws {
        let date = try #require(RFC3339.parse(text))
        #expect(abs(date.timeIntervalSince1970 - seconds) < 0.0005)
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let reference = formatter.date(from: text) ?? ISO8601DateFormatter().date(from: text) {
            #expect(abs(reference.timeIntervalSince1970 - date.timeIntervalSince1970) < 0.0005)
        }
        for bad in ["2026-13-01T00:00:00Z", "2026-01-01", "2026-01-01T00:00:00", "2026-01-01T00:00:00Zjunk"] {
            #expect(RFC3339.parse(bad) == nil, "\(bad)")
        }
    }
}

/// Codex CLI session logs: a call is the step between running totals; cached input split
/// out of input; reasoning kept inside output; repeated events add nothing.
@Suite struct CodexImportTests {
    static let fixtures = ClaudeCodeImportTests.fixtures.replacingOccurrences(of: "claude-code", with: "codex")

    func importer() -> TranscriptImport {
        TranscriptImport(
            format: .codex, attribution: Attribution(organization: "default", team: "platform", member: "ana"), pricing: Pricing(PriceCatalog.builtIn()))
    }

    @Test func eachCallIsTheStepBetweenRunningTotals() async throws {
        let ledger = try SQLiteLedger(inMemory: ())
        let files = try TranscriptImport.transcripts(at: [Self.fixtures])
        let summary = try await importer().run(files: files, store: ledger)
        #expect((summary.files, summary.responseLines, summary.responses, summary.duplicates, summary.malformed) == (2, 3, 2, 1, 2))
        #expect(summary.problems.contains { $0.hasSuffix(":2: a token_count before any turn_context names the model") }, "\(summary.problems)")
        #expect(summary.usage == Usage(input: 3_000, output: 700, cacheRead: 9_000, reasoning: 500))
        let rows = try await ledger.requests(organization: "default", environment: .production, from: .distantPast, to: .distantFuture)
        #expect(rows.map(\.servedModel) == ["gpt-5-codex", "gpt-5"])
        let second = try #require(rows.last)
        #expect(second.usage == Usage(input: 2_096, output: 400, cacheRead: 4_904, reasoning: 244))
        #expect(second.api == "responses" && second.provider == "openai" && second.source == "codex" && second.cost != nil)
        #expect(second.attribution.run == "0199a213-81c0-7800-8aa1-bbab2a035a53" && second.attribution.workflow == "ledger-svc")
        // Reasoning is inside output: the cost is output priced once, never output plus reasoning.
        let price = try #require(Pricing(PriceCatalog.builtIn()).price(provider: "openai", model: "gpt-5", at: second.startedAt)?.0)
        #expect(second.cost == price.cost(of: Usage(input: 2_096, output: 400, cacheRead: 4_904), tier: .standard, discountBasisPoints: 0))
        let context = try #require(try await ledger.runContext("0199a213-81c0-7800-8aa1-bbab2a035a53"))
        #expect(context.gitBranch == "fix/rounding" && context.source == "codex")

        let again = try await importer().run(files: files, store: ledger)
        #expect((again.added, again.updated) == (0, 0))
    }
}

/// LiteLLM spend logs: JSON and CSV exports read alike, cached tokens split out of prompt
/// tokens, rows without an id or time named, repeated rows once, LiteLLM's spend kept only
/// where Strates has no price.
@Suite struct LiteLLMImportTests {
    static let fixtures = ClaudeCodeImportTests.fixtures.replacingOccurrences(of: "claude-code", with: "litellm")

    func importer() -> SpendLogImport {
        SpendLogImport(attribution: Attribution(organization: "default", team: "fallback", member: "someone"), pricing: Pricing(PriceCatalog.builtIn()))
    }

    @Test func jsonAndCSVExportsImportAlikeAndOnce() async throws {
        let ledger = try SQLiteLedger(inMemory: ())
        let json = try #require(FileManager.default.contents(atPath: Self.fixtures + "/spend_logs.json"))
        let summary = try await importer().run(Array(json), store: ledger)
        #expect((summary.rows, summary.calls, summary.skipped, summary.added, summary.pricedByLiteLLM) == (7, 4, 2, 4, 1))
        #expect(summary.problems == ["row 6: a row without request_id", "row 7: row bad-time: startTime is missing or not a time"])
        #expect(summary.usage == Usage(input: 8_976, output: 500, cacheRead: 31_024, cacheWrite5m: 2_000))
        let csv = try #require(FileManager.default.contents(atPath: Self.fixtures + "/spend_logs.csv"))
        let again = try await importer().run(Array(csv), store: ledger)
        #expect((again.calls, again.added, again.updated) == (4, 0, 0) && again.usage == summary.usage)

        let rows = try await ledger.requests(organization: "default", environment: .production, from: .distantPast, to: .distantFuture)
        let anthropic = try #require(rows.first { $0.upstreamRequestID == "msg_01XF" })
        #expect(anthropic.usage == Usage(input: 8_000, output: 200, cacheRead: 30_000, cacheWrite5m: 2_000) && anthropic.provider == "anthropic")
        #expect(anthropic.attribution.team == "platform" && anthropic.attribution.member == "ana" && anthropic.attribution.run == "sess-42")
        let unpriced = try #require(rows.first { $0.servedModel == "acme-embed-v2" })
        #expect(unpriced.cost == NanoUSD(400_000) && unpriced.api == "embeddings" && unpriced.error == SpendLogImport.pricedByLiteLLM)
        #expect(rows.first { $0.upstreamRequestID == "chatcmpl-fail" }?.status == .failed)
        #expect(rows.first { $0.upstreamRequestID == "chatcmpl-8f1a" }?.requestedModel == "smart")
    }

    @Test func whatIsNotAnExportIsSaid() async throws {
        let ledger = try SQLiteLedger(inMemory: ())
        await #expect(throws: ImportError.self) { try await importer().run(Array("id,name\n1,x\n".utf8), store: ledger) }
        await #expect(throws: ImportError.self) { try await importer().run(Array("{\"object\":\"list\"}".utf8), store: ledger) }
    }

    @Test func csvFieldsKeepTheirQuotesCommasAndLineBreaks() {
        let rows = CSVText.rows("a,b,c\r\n\"x, y\",\"say \"\"hi\"\"\",\"two\nlines\"\n\n1,,3")
        #expect(rows == [["a", "b", "c"], ["x, y", "say \"hi\"", "two\nlines"], ["1", "", "3"]])
        // What the writer writes, the reader reads back.
        let fields = ["=cmd", "plain", "comma, here", "quote \" here"]
        #expect(CSVText.rows(fields.map(CSVText.field).joined(separator: ",")) == [["'=cmd", "plain", "comma, here", "quote \" here"]])
    }
}
