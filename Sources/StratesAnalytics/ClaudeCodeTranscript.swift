import CByteScan
import Foundation
import StratesCore
import StratesWire

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
        Self.moreComplete(usage, than: other.usage)
    }

    /// Whether `usage` is more complete than `other`: more output, or as much and more in all.
    public static func moreComplete(_ usage: Usage, than other: Usage) -> Bool {
        (usage.output, usage.total) > (other.output, other.total)
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

    /// Whether `needle` occurs in `bytes` (glibc's memmem: hopping from quote to quote with
    /// memchr and memcmp, as this did before, stopped at every string of a line).
    static func contains(_ bytes: UnsafeRawBufferPointer, _ needle: [UInt8]) -> Bool {
        needle.withUnsafeBytes { word in
            guard let base = bytes.baseAddress, let wordBase = word.baseAddress, word.count > 0 else { return false }
            return strates_contains(base, bytes.count, wordBase, word.count) != 0
        }
    }

    /// What a line says, as far as a response needs: read in one walk over the line that
    /// descends into `message` and its `usage` and steps over everything else (the content,
    /// the largest part, is crossed once).
    struct Fields {
        var type: String?
        var sessionID: String?
        var requestID: String?
        var timestamp: String?
        var isSidechain: Bool?
        var agentID: String?
        var cwd: String?
        var gitBranch: String?
        var hasMessage = false
        var messageID: String?
        var model: String?
        var hasUsage = false
        var input: Int64?
        var output: Int64?
        var cacheRead: Int64?
        var cacheCreation: Int64?
        var write5m: Int64?
        var write1h: Int64?

        /// The usage as `UsageFields.anthropic` reads it: cache writes split by TTL when
        /// `cache_creation` gives the breakdown, otherwise counted as 5-minute writes; nil
        /// when no count is there at all.
        var usage: Usage? {
            guard hasUsage else { return nil }
            var usage = Usage()
            var sawAny = false
            if let input {
                usage.input = input
                sawAny = true
            }
            if let output {
                usage.output = output
                sawAny = true
            }
            if let cacheRead {
                usage.cacheRead = cacheRead
                sawAny = true
            }
            if write5m != nil || write1h != nil {
                usage.cacheWrite5m = write5m ?? 0
                usage.cacheWrite1h = write1h ?? 0
                sawAny = true
            } else if let cacheCreation {
                usage.cacheWrite5m = cacheCreation
                sawAny = true
            }
            return sawAny ? usage : nil
        }

        mutating func readLine(_ scanner: inout JSONScanner) throws {
            try scanner.walkObject { scanner, key in
                if key.is("type") {
                    type = try scanner.readString()
                } else if key.is("message") {
                    // A later `message` replaces an earlier one whole.
                    (hasMessage, messageID, model, hasUsage, input, output, cacheRead, cacheCreation, write5m, write1h) =
                        (scanner.atObject, nil, nil, false, nil, nil, nil, nil, nil, nil)
                    guard hasMessage else { return false }
                    try readMessage(&scanner)
                } else if key.is("sessionId") {
                    sessionID = try scanner.readString()
                } else if key.is("requestId") {
                    requestID = try scanner.readString()
                } else if key.is("timestamp") {
                    timestamp = try scanner.readString()
                } else if key.is("isSidechain") {
                    isSidechain = try scanner.readBool()
                } else if key.is("agentId") {
                    agentID = try scanner.readString()
                } else if key.is("cwd") {
                    cwd = try scanner.readString()
                } else if key.is("gitBranch") {
                    gitBranch = try scanner.readString()
                } else {
                    return false
                }
                return true
            }
        }

        mutating func readMessage(_ scanner: inout JSONScanner) throws {
            try scanner.walkObject { scanner, key in
                if key.is("id") {
                    messageID = try scanner.readString()
                } else if key.is("model") {
                    model = try scanner.readString()
                } else if key.is("usage") {
                    (hasUsage, input, output, cacheRead, cacheCreation, write5m, write1h) = (scanner.atObject, nil, nil, nil, nil, nil, nil)
                    guard hasUsage else { return false }
                    try scanner.walkObject { scanner, key in
                        if key.is("input_tokens") {
                            input = try scanner.readInt64()
                        } else if key.is("output_tokens") {
                            output = try scanner.readInt64()
                        } else if key.is("cache_read_input_tokens") {
                            cacheRead = try scanner.readInt64()
                        } else if key.is("cache_creation_input_tokens") {
                            cacheCreation = try scanner.readInt64()
                        } else if key.is("cache_creation") {
                            (write5m, write1h) = (nil, nil)
                            guard scanner.atObject else { return false }
                            try scanner.walkObject { scanner, key in
                                if key.is("ephemeral_5m_input_tokens") {
                                    write5m = try scanner.readInt64()
                                } else if key.is("ephemeral_1h_input_tokens") {
                                    write1h = try scanner.readInt64()
                                } else {
                                    return false
                                }
                                return true
                            }
                        } else {
                            return false
                        }
                        return true
                    }
                } else {
                    return false
                }
                return true
            }
        }
    }

    /// Whether a line is braced like one JSON object: all that is checked of the lines that
    /// cannot be responses (they never say "assistant"), which are most of a transcript's
    /// bytes (user turns and tool results).
    static func braced(_ bytes: UnsafeRawBufferPointer) -> Bool {
        // JSON whitespace, compared directly: this runs on most lines of a transcript.
        func solid(_ byte: UInt8) -> Bool { byte != 0x20 && byte != 0x09 && byte != 0x0D && byte != 0x0A }
        guard let first = bytes.firstIndex(where: solid), let last = bytes.lastIndex(where: solid) else { return false }
        return first < last && bytes[first] == UInt8(ascii: "{") && bytes[last] == UInt8(ascii: "}")
    }

    public static func read(_ bytes: [UInt8]) -> Line {
        bytes.withUnsafeBytes { read($0) }
    }

    /// Reads a line where it lies (an import hands each line over without copying it).
    public static func read(_ bytes: UnsafeRawBufferPointer) -> Line {
        guard contains(bytes, Self.assistantWord) else { return braced(bytes) ? .other : .malformed("not a JSON object") }
        var fields = Fields()
        var scanner = JSONScanner(bytes)
        do {
            try fields.readLine(&scanner)
            try scanner.expectEnd()
        } catch {
            return .malformed("not a JSON object")
        }
        guard fields.type == "assistant" else { return .other }
        guard fields.hasMessage else { return .malformed("an assistant line without a message") }
        guard let usage = fields.usage else { return .other }
        if let count = usage.outOfBounds(Bounds.importedTokensPerRecord) {
            return .malformed("an assistant line whose usage is out of bounds (\(count))")
        }
        let model = fields.model ?? ""
        if model == "<synthetic>" { return .other }
        guard let messageID = fields.messageID, !messageID.isEmpty else { return .malformed("an assistant line without message.id") }
        guard let session = fields.sessionID, !session.isEmpty else { return .malformed("an assistant line without sessionId") }
        guard let stamp = fields.timestamp, let timestamp = RFC3339.parse(stamp) else {
            return .malformed("an assistant line without a readable timestamp")
        }
        let requestID = fields.requestID.flatMap { $0.isEmpty ? nil : $0 }
        return .response(
            TranscriptResponse(
                identity: requestID.map { "\(messageID):\($0)" } ?? "\(session):\(messageID)",
                messageID: messageID, requestID: requestID, sessionID: session, agentID: fields.agentID,
                isSidechain: fields.isSidechain ?? false, timestamp: timestamp, model: model, usage: usage,
                cwd: fields.cwd.flatMap { $0.isEmpty ? nil : $0 },
                gitBranch: fields.gitBranch.flatMap { $0.isEmpty ? nil : $0 }
            ))
    }
}
