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

    public static func read(_ bytes: [UInt8]) -> Line {
        guard let root = try? JSONView(object: bytes) else { return .malformed("not a JSON object") }
        let fields = root.members(["type", "message", "sessionId", "requestId", "timestamp", "isSidechain", "agentId", "cwd", "gitBranch"])
        guard fields["type"]?.string == "assistant" else { return .other }
        guard let message = fields["message"], message.isObject else { return .malformed("an assistant line without a message") }
        let parts = message.members(["id", "model", "usage"])
        guard let counts = parts["usage"], counts.isObject, let usage = UsageFields.anthropic(counts) else { return .other }
        let model = parts["model"]?.string ?? ""
        if model == "<synthetic>" { return .other }
        guard let messageID = parts["id"]?.string, !messageID.isEmpty else { return .malformed("an assistant line without message.id") }
        guard let session = fields["sessionId"]?.string, !session.isEmpty else { return .malformed("an assistant line without sessionId") }
        guard let stamp = fields["timestamp"]?.string, let timestamp = parseTimestamp(stamp) else {
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

    /// `2026-01-25T18:16:50.773Z` (fractional seconds and a numeric offset optional).
    public static func parseTimestamp(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        func number(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[range] {
                guard (0x30...0x39).contains(byte) else { return nil }
                value = value * 10 + Int(byte - 0x30)
            }
            return value
        }
        guard bytes.count >= 20, bytes[4] == 0x2D, bytes[7] == 0x2D, bytes[10] == 0x54 || bytes[10] == 0x20, bytes[13] == 0x3A, bytes[16] == 0x3A,
              let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
              let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
              (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        var index = 19
        var fraction = 0.0
        if index < bytes.count, bytes[index] == 0x2E {
            index += 1
            var scale = 0.1
            while index < bytes.count, (0x30...0x39).contains(bytes[index]) {
                fraction += Double(bytes[index] - 0x30) * scale
                scale /= 10
                index += 1
            }
        }
        var offset = 0
        guard index < bytes.count else { return nil }
        switch bytes[index] {
        case 0x5A where index == bytes.count - 1: break
        case 0x2B, 0x2D:
            let digits = bytes[(index + 1)...].filter { $0 != 0x3A }
            guard digits.count == 4, let hours = Int(String(decoding: digits.prefix(2), as: UTF8.self)),
                  let minutes = Int(String(decoding: digits.suffix(2), as: UTF8.self)) else { return nil }
            offset = (hours * 3600 + minutes * 60) * (bytes[index] == 0x2B ? 1 : -1)
        default: return nil
        }
        // Days since 1970-01-01 (proleptic Gregorian), from the civil date.
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset
        return Date(timeIntervalSince1970: Double(seconds) + fraction)
    }
}
