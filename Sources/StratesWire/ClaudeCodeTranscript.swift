import Foundation
import StratesCore

/// One model response as a Claude Code session transcript records it
/// (`~/.claude/projects/<project>/<session>.jsonl`, and `<session>/subagents/agent-<id>.jsonl`
/// for subagents): an `assistant` line with `message.id`, `message.model` and
/// `message.usage`, the session, the working directory and the git branch.
public struct TranscriptResponse: Sendable, Equatable {
    /// What makes two lines the same response: `message.id` with `requestId`, or with the
    /// session when the line has no request id (third-party endpoints and some subagent
    /// paths omit it).
    public var identity: String
    public var messageID: String
    public var requestID: String?
    public var sessionID: String
    /// Set on subagent (sidechain) lines.
    public var agentID: String?
    public var isSidechain: Bool
    public var timestamp: Date
    public var model: String
    public var usage: Usage
    public var cwd: String?
    public var gitBranch: String?

    /// Of two lines of the same response, the one to keep: Claude Code writes a response
    /// once per content block, and the early lines of a streamed response can carry partial
    /// output counts (8 where the final line says 108). The most complete usage wins; on a
    /// tie the line read first stays (a resumed or forked session's copy of a response keeps
    /// the run it was read in first).
    public func supersedes(_ other: TranscriptResponse) -> Bool {
        (usage.output, usage.total) > (other.usage.output, other.usage.total)
    }
}

/// Reads Claude Code transcript lines. Only `assistant` lines with usage are responses;
/// everything else (user turns, summaries, snapshots, progress, system lines) is context.
public enum ClaudeCodeTranscript {
    public enum Line: Sendable, Equatable {
        case response(TranscriptResponse)
        /// Not a billed response: another line type, no usage, or Claude Code's own
        /// `<synthetic>` messages (API errors and interruptions it writes itself).
        case other
        /// Not a JSON object, or an assistant line missing what identifies it.
        case malformed(String)
    }

    static let assistantWord = Array(#""assistant""#.utf8)

    /// Whether `needle` occurs in `bytes` (memchr to each candidate first byte, then memcmp).
    static func contains(_ bytes: [UInt8], _ needle: [UInt8]) -> Bool {
        bytes.withUnsafeBufferPointer { haystack in
            needle.withUnsafeBufferPointer { word in
                guard let base = haystack.baseAddress, let wordBase = word.baseAddress, word.count > 0 else { return false }
                var start = 0
                while haystack.count - start >= word.count {
                    guard let hit = memchr(base + start, Int32(word[0]), haystack.count - start - word.count + 1) else { return false }
                    let at = UnsafePointer(hit.assumingMemoryBound(to: UInt8.self)) - base
                    if memcmp(base + at, wordBase, word.count) == 0 { return true }
                    start = at + 1
                }
                return false
            }
        }
    }

    static let fieldNames = ["type", "message", "sessionId", "requestId", "timestamp", "isSidechain", "agentId", "cwd", "gitBranch"]

    public static func read(_ bytes: [UInt8]) -> Line {
        // Most lines (user turns and tool results, the largest) never say "assistant": they
        // are only checked to be one JSON object, without picking any member out.
        let mayRespond = contains(bytes, Self.assistantWord)
        guard let fields = try? JSONView.object(bytes, members: mayRespond ? fieldNames : []) else { return .malformed("not a JSON object") }
        guard fields["type"]?.string == "assistant" else { return .other }
        guard let message = fields["message"], message.isObject else { return .malformed("an assistant line without a message") }
        let parts = message.members(["id", "model", "usage"])
        guard let counts = parts["usage"], counts.isObject, let usage = UsageFields.anthropic(counts) else { return .other }
        let model = parts["model"]?.string ?? ""
        if model == "<synthetic>" { return .other }
        guard let messageID = parts["id"]?.string, !messageID.isEmpty else { return .malformed("an assistant line without message.id") }
        guard let session = fields["sessionId"]?.string, !session.isEmpty else { return .malformed("an assistant line without sessionId") }
        guard let stamp = fields["timestamp"]?.string, let timestamp = RFC3339.parse(stamp) else {
            return .malformed("an assistant line without a readable timestamp")
        }
        let requestID = fields["requestId"]?.string.flatMap { $0.isEmpty ? nil : $0 }
        return .response(TranscriptResponse(
            identity: requestID.map { "\(messageID):\($0)" } ?? "\(session):\(messageID)",
            messageID: messageID, requestID: requestID, sessionID: session, agentID: fields["agentId"]?.string,
            isSidechain: fields["isSidechain"]?.bool ?? false, timestamp: timestamp, model: model, usage: usage,
            cwd: fields["cwd"]?.string.flatMap { $0.isEmpty ? nil : $0 },
            gitBranch: fields["gitBranch"]?.string.flatMap { $0.isEmpty ? nil : $0 }
        ))
    }
}
