import Foundation
import StratesCore
import StratesWire

/// Works out who and what a request is for, from the key, the `x-strates-*` headers and
/// what clients already send (Claude Code's session header, Codex's session headers and turn
/// metadata, OpenAI `user` and `metadata`, Anthropic `metadata.user_id`, W3C `traceparent`).
public enum AttributionResolver {
    public static func resolve(key: APIKey, headers: [(name: String, value: String)], summary: RequestSummary) -> Attribution {
        resolve(key: key, headers: headers, summary: summary, codex: CodexTurn(headers: headers))
    }

    /// `resolve` with what Codex says of the request already read (the pipeline keeps it
    /// for the record's turn as well).
    static func resolve(key: APIKey, headers: [(name: String, value: String)], summary: RequestSummary, codex: CodexTurn?) -> Attribution {
        var attribution = key.attribution
        func header(_ name: String) -> String? { Self.header(name, in: headers) }
        let metadata = summary.metadata
        attribution.workflow = header("x-strates-workflow") ?? metadata["strates_workflow"] ?? attribution.workflow
        attribution.run =
            header("x-strates-run") ?? metadata["strates_run"]
            ?? header("x-claude-code-session-id") ?? codex?.run ?? header("session_id")
        attribution.parentRun = header("x-strates-parent-run") ?? metadata["strates_parent_run"] ?? codex?.parentRun
        attribution.process = header("x-strates-process") ?? metadata["strates_process"] ?? codex?.subagent
        if let requested = (header("x-strates-environment") ?? metadata["strates_environment"]).flatMap({ Environment(rawValue: $0.lowercased()) }),
            allowsEnvironment(from: key.environment, to: requested)
        {
            attribution.environment = requested
        }
        attribution.endUser = summary.user ?? summary.metadataUserID.map { String($0.prefix(256)) }
        if let parent = header("traceparent") {
            let parts = parent.split(separator: "-")
            if parts.count >= 4, parts[1].count == 32 { attribution.traceID = String(parts[1]) }
        }
        return attribution
    }

    /// A header's value, trimmed and at most 256 characters; nil when absent or empty.
    static func header(_ name: String, in headers: [(name: String, value: String)]) -> String? {
        guard let value = headers.first(where: { $0.name == name })?.value.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        return String(value.prefix(256))
    }

    /// Only a production (service) key may label its traffic with another environment.
    /// A personal or sandbox key keeps its own: each environment has controls of its own
    /// (a member's grants apply to personal traffic only, reserves stop personal use before
    /// sandbox use, budgets and policies may be scoped to one), so a relabel by the caller
    /// would step out of the controls its key was given.
    static func allowsEnvironment(from keyEnvironment: Environment, to requested: Environment) -> Bool {
        keyEnvironment == .production || requested == keyEnvironment
    }
}

/// What Codex says of a request (0.16x): `x-codex-turn-metadata`, a JSON object with
/// `session_id`, `thread_id`, `turn_id`, `agent_name`, `request_kind`, … (a sub-agent's also
/// `parent_thread_id`, `subagent_kind`), the `session-id` / `thread-id` headers, and a
/// sub-agent's `x-openai-subagent` / `x-codex-parent-thread-id`. A session is a run; a
/// thread that is not the session's own (a sub-agent's) is a child run of its parent thread.
struct CodexTurn: Equatable {
    var session: String?
    var thread: String?
    var parentThread: String?
    /// What kind of sub-agent the request is one of, when it is.
    var subagent: String?
    /// `turn` (or `subagent_turn`) for a turn of the conversation; anything else (a
    /// compaction, …) is not one.
    var kind: String?

    init?(headers: [(name: String, value: String)]) {
        func value(_ name: String) -> String? { AttributionResolver.header(name, in: headers) }
        let metadata = headers.first(where: { $0.name == "x-codex-turn-metadata" }).flatMap { raw -> [String: JSONView]? in
            // Bounded: a header Strates reads members from, not a body.
            guard raw.value.utf8.count <= 16_384 else { return nil }
            return try? JSONView.object(
                Array(raw.value.utf8), members: ["session_id", "thread_id", "parent_thread_id", "subagent_kind", "agent_name", "request_kind"])
        }
        func member(_ key: String) -> String? {
            guard let text = metadata?[key]?.string?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
            return String(text.prefix(256))
        }
        session = member("session_id") ?? value("session-id")
        thread = member("thread_id") ?? value("thread-id")
        parentThread = member("parent_thread_id") ?? value("x-codex-parent-thread-id")
        subagent = value("x-openai-subagent") ?? member("subagent_kind") ?? (parentThread != nil ? member("agent_name") : nil)
        kind = member("request_kind")
        if session == nil && thread == nil && parentThread == nil && subagent == nil && kind == nil { return nil }
    }

    /// The run: the thread (the session's own, or a sub-agent's), else the session.
    var run: String? { thread ?? session }

    /// A sub-agent's parent thread; failing that, the session of a thread that is not its own.
    var parentRun: String? {
        if let parentThread, parentThread != run { return parentThread }
        guard let thread, let session, thread != session else { return nil }
        return session
    }

    /// Whether the request is a turn of the conversation (a compaction is not).
    var isTurn: Bool { kind.map { $0 == "turn" || $0 == "subagent_turn" } ?? true }
}
