import Foundation
import StratesTestSupport
import Testing

@testable import StratesCore
@testable import StratesGateway
@testable import StratesWire

/// Attribution from what agents really send: Claude Code's session header, Codex's session
/// headers and `x-codex-turn-metadata`, Strates' own headers first.
@Suite struct AttributionTests {
    let key = APIKey(
        id: "key_1", hash: "h", prefix: "sk-strates-x", name: nil, role: .gateway, organization: "default", team: "platform", member: "ana",
        service: nil, environment: .production, workflow: nil, createdAt: Date(), expiresAt: nil)

    func resolve(_ headers: [(name: String, value: String)]) throws -> Attribution {
        let summary = try RequestSummary.inspect(Array(#"{"model":"gpt-5.5","input":"hi"}"#.utf8), api: .responses)
        return AttributionResolver.resolve(key: key, headers: headers, summary: summary)
    }

    func metadata(_ members: [String: String]) -> (name: String, value: String) {
        let data = try! JSONSerialization.data(withJSONObject: members, options: [.sortedKeys])
        return ("x-codex-turn-metadata", String(decoding: data, as: UTF8.self))
    }

    @Test func aCodexSessionIsARun() throws {
        let session = "019a6c1e-7d2b-7f30-9a1e-2b8c0d4e5f61"
        let headers = [
            ("session-id", session), ("thread-id", session), ("originator", "codex_exec"),
            metadata(["session_id": session, "thread_id": session, "turn_id": "t1", "request_kind": "turn", "agent_name": "codex"]),
        ]
        let attribution = try resolve(headers)
        #expect(attribution.run == session && attribution.parentRun == nil && attribution.process == nil)
        #expect(CodexTurn(headers: headers)?.isTurn == true)
        // Older forms: only the headers, or only `session_id`.
        #expect(try resolve([("session-id", "s-2")]).run == "s-2")
        #expect(try resolve([("session_id", "s-3")]).run == "s-3")
    }

    @Test func aCodexSubagentIsAChildRunOfItsParentThread() throws {
        let headers = [
            ("session-id", "s-1"), ("x-openai-subagent", "collab_spawn"), ("x-codex-parent-thread-id", "s-1"),
            metadata(["session_id": "s-1", "thread_id": "th-9", "parent_thread_id": "s-1", "request_kind": "subagent_turn"]),
        ]
        let attribution = try resolve(headers)
        #expect(attribution.run == "th-9" && attribution.parentRun == "s-1" && attribution.process == "collab_spawn")
        #expect(CodexTurn(headers: headers)?.isTurn == true)
    }

    @Test func aCompactionIsNotATurn() {
        let headers = [metadata(["session_id": "s-1", "thread_id": "s-1", "request_kind": "compaction"])]
        #expect(CodexTurn(headers: headers)?.isTurn == false)
    }

    @Test func stratesHeadersWinAndBadMetadataIsIgnored() throws {
        let codex = metadata(["session_id": "s-1", "thread_id": "s-1"])
        #expect(try resolve([("x-strates-run", "mine"), codex]).run == "mine")
        #expect(try resolve([("x-claude-code-session-id", "cc-1"), codex]).run == "cc-1")
        for broken in ["{", "[1,2]", "null", #"{"session_id": 7}"#, String(repeating: "x", count: 20_000)] {
            #expect(try resolve([("x-codex-turn-metadata", broken), ("session-id", "s-4")]).run == "s-4", "\(broken.prefix(20))")
        }
    }

    /// Property: any header text at all either gives a run of at most 256 characters or none;
    /// it never crashes.
    @Test func anyMetadataTextIsSafe() throws {
        let seed: UInt64 = 251
        print("AttributionTests seed \(seed)")
        var random = SeededRandom(seed)
        let pieces = [
            #"{"#, #"}"#, #""session_id":"#, #""thread_id":"#, #""request_kind":"#, #""turn""#, #""a""#, ",", ":", "\\", "\u{0}", "é", " ", "[", "]", "1e9",
        ]
        var cases = 0
        for _ in 0..<2_000 {
            let text = (0..<Int.random(in: 0...24, using: &random)).map { _ in pieces.randomElement(using: &random)! }.joined()
            let attribution = try resolve([("x-codex-turn-metadata", text)])
            if (attribution.run?.count ?? 0) <= 256 { cases += 1 }
        }
        #expect(cases == 2_000)
    }
}
