import Foundation
import StratesCore
import StratesWire

/// Reads a Codex CLI session log (`~/.codex/sessions/YYYY/MM/DD/rollout-*.jsonl`) line by
/// line. Its lines are `{"timestamp", "type", "payload"}`: `session_meta` (the session id,
/// working directory and git branch), `turn_context` (the model in use), and `event_msg`
/// whose payload is a `token_count` with the session's running totals
/// (`info.total_token_usage`) and the last call's (`info.last_token_usage`).
///
/// Each call is the step between two running totals, so a repeated event (Codex writes some
/// twice) adds nothing and a re-read gives the same calls. OpenAI's counting is kept:
/// `input_tokens` includes `cached_input_tokens` (split out here as cache reads), and
/// `reasoning_output_tokens` is part of `output_tokens`, not added to it.
public struct CodexRollout: Sendable {
    var sessionID: String?
    var cwd: String?
    var gitBranch: String?
    var model: String?
    /// The running totals after the last call: input (with cached), cached, output, reasoning.
    var totals: [Int64] = [0, 0, 0, 0]

    public init() {}

    public mutating func read(_ bytes: [UInt8]) -> ClaudeCodeTranscript.Line {
        guard let fields = try? JSONView.object(bytes, members: ["timestamp", "type", "payload"]) else { return .malformed("not a JSON object") }
        guard let payload = fields["payload"], payload.isObject else { return .other }
        switch fields["type"]?.string {
        case "session_meta":
            let meta = payload.members(["id", "cwd", "git"])
            sessionID = meta["id"]?.string ?? sessionID
            cwd = meta["cwd"]?.string ?? cwd
            gitBranch = meta["git"]?["branch"]?.string ?? gitBranch
            return .other
        case "turn_context":
            let context = payload.members(["model", "cwd"])
            model = context["model"]?.string ?? model
            cwd = context["cwd"]?.string ?? cwd
            return .other
        case "event_msg":
            guard payload["type"]?.string == "token_count" else { return .other }
            guard let info = payload["info"], info.isObject else { return .other }
            let counts = info.members(["total_token_usage", "last_token_usage"])
            let total = counts["total_token_usage"].flatMap(Self.counts)
            guard let step = total.map({ zip($0, totals).map { $0.saturatingSubtract($1) } }) ?? counts["last_token_usage"].flatMap(Self.counts) else {
                return .malformed("a token_count without token usage")
            }
            guard let session = sessionID else { return .malformed("a token_count before the session_meta line") }
            guard let model else { return .malformed("a token_count before any turn_context names the model") }
            guard let stamp = fields["timestamp"]?.string, let timestamp = RFC3339.parse(stamp) else {
                return .malformed("a token_count without a readable timestamp")
            }
            if let total { totals = total } else { totals = zip(totals, step).map { $0.saturatingAdd($1) } }
            guard step.allSatisfy({ $0 >= 0 }) else { return .malformed("running totals went down") }
            guard step.allSatisfy({ $0 <= Bounds.importedTokensPerRecord }) else { return .malformed("a token_count step out of bounds") }
            let marker = totals.map(String.init).joined(separator: "-")
            let usage = Usage(input: max(0, step[0].saturatingSubtract(step[1])), output: step[2], cacheRead: step[1], reasoning: step[3])
            return .response(
                TranscriptResponse(
                    identity: "codex:\(session):\(marker)", messageID: marker, requestID: nil, sessionID: session, agentID: nil,
                    isSidechain: false, timestamp: timestamp, model: model, usage: usage, cwd: cwd, gitBranch: gitBranch
                ))
        default:
            return .other
        }
    }

    /// `[input, cached, output, reasoning]` of a usage object.
    static func counts(_ usage: JSONView) -> [Int64]? {
        guard usage.isObject else { return nil }
        let fields = usage.members(["input_tokens", "cached_input_tokens", "output_tokens", "reasoning_output_tokens"])
        guard let input = fields["input_tokens"]?.int64, let output = fields["output_tokens"]?.int64 else { return nil }
        let counts = [input, fields["cached_input_tokens"]?.int64 ?? 0, output, fields["reasoning_output_tokens"]?.int64 ?? 0]
        // Negative or absurd counts are not usage (a session's running total stays far below this).
        return counts.allSatisfy({ (0...Bounds.importedTokensPerRecord).contains($0) }) ? counts : nil
    }
}
