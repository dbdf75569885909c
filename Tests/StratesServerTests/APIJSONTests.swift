import Foundation
import StratesCore
import StratesTestSupport
import Testing

@testable import StratesServer

/// The one encoder of the admin API: every documented member present (absent ones `null`),
/// members sorted so one value always encodes the same, any text read back as it was.
@Suite struct APIJSONTests {
    func object(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test func absentMembersAreNullAndTheOutputIsStable() throws {
        let outcome = Outcome(id: "out_1", at: Date(timeIntervalSince1970: 1_795_000_000), run: "run-a/b", kind: .merge)
        let text = APIJSON.text(outcome)
        #expect(text.hasPrefix(#"{"at":"#) && text.hasSuffix(#""value_usd":null}"#), "members sorted by name: \(text)")
        #expect((0..<20).allSatisfy { _ in APIJSON.text(outcome) == text }, "one value, one encoding")
        #expect(text.contains(#""run":"run-a/b""#), "a slash is left as it is")
        let decoded = try object(text)
        for member in ["ref", "quantity", "value_usd", "source"] {
            #expect(decoded.keys.contains(member) && decoded[member] is NSNull, "\(member) is written as null")
        }
        #expect(decoded["inferred"] as? Bool == false && decoded["kind"] as? String == "merge")
    }

    @Test func listsCarryTheirObjectAndExtraMembers() throws {
        let feedback = [Feedback(id: "fb_1", at: Date(), requestID: "req_1", run: nil, score: 0.75)]
        let decoded = try object(String(decoding: APIJSON.bytes(APIList(feedback, extra: [("member", "ana")])), as: UTF8.self))
        #expect(decoded["object"] as? String == "list" && decoded["member"] as? String == "ana")
        let items = try #require(decoded["data"] as? [[String: Any]])
        #expect(items.count == 1 && items[0]["score"] as? Double == 0.75 && items[0]["run"] is NSNull)
    }

    /// Property: text of any kind (quotes, backslashes, control characters, emoji) reads back
    /// exactly as it was written.
    @Test func anyTextReadsBackAsWritten() throws {
        let seed: UInt64 = 313
        print("APIJSONTests seed \(seed)")
        var random = SeededRandom(seed)
        let pieces = ["a", "é", "😀", "\"", "\\", "\n", "\t", "\u{01}", "\u{1F}", "/", "</script>", "\u{2028}", "\u{7F}", " "]
        func text() -> String { (0..<Int.random(in: 0...16, using: &random)).map { _ in pieces.randomElement(using: &random)! }.joined() }
        var matched = 0
        for _ in 0..<400 {
            let event = RouteEvent(at: Date(timeIntervalSince1970: 1_795_000_000), route: text(), deployment: text(), kind: .aboveCeiling, detail: text())
            let decoded = try object(APIJSON.text(event))
            if decoded["route"] as? String == event.route && decoded["deployment"] as? String == event.deployment
                && decoded["detail"] as? String == event.detail
            {
                matched += 1
            }
        }
        #expect(matched == 400)
    }
}
