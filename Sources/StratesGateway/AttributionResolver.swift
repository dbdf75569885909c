import Foundation
import StratesCore
import StratesWire

/// Works out who and what a request is for, from the key, the `x-strates-*` headers and
/// what clients already send (Claude Code's session header, OpenAI `user` and `metadata`,
/// Anthropic `metadata.user_id`, W3C `traceparent`).
public enum AttributionResolver {
    public static func resolve(key: APIKey, headers: [(name: String, value: String)], summary: RequestSummary) -> Attribution {
        var attribution = key.attribution
        func header(_ name: String) -> String? {
            guard let value = headers.first(where: { $0.name == name })?.value.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
            return String(value.prefix(256))
        }
        let metadata = summary.metadata
        attribution.workflow = header("x-strates-workflow") ?? metadata["strates_workflow"] ?? attribution.workflow
        attribution.run =
            header("x-strates-run") ?? metadata["strates_run"]
            ?? header("x-claude-code-session-id") ?? header("session_id")
        attribution.parentRun = header("x-strates-parent-run") ?? metadata["strates_parent_run"]
        attribution.process = header("x-strates-process") ?? metadata["strates_process"]
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

    /// Only a production (service) key may label its traffic with another environment.
    /// A personal or sandbox key keeps its own: each environment has controls of its own
    /// (a member's grants apply to personal traffic only, reserves stop personal use before
    /// sandbox use, budgets and policies may be scoped to one), so a relabel by the caller
    /// would step out of the controls its key was given.
    static func allowsEnvironment(from keyEnvironment: Environment, to requested: Environment) -> Bool {
        keyEnvironment == .production || requested == keyEnvironment
    }
}
