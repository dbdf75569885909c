import Foundation

/// What a run produced: a commit, a pull request, a merge, a deployment, tests passing, or
/// anything else a team counts. Linked to runs so that tokens can be set against results.
public struct Outcome: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case commit
        case pullRequest = "pull_request"
        case merge, deployment
        case testsPassed = "tests_passed"
        case custom
    }

    public var id: String
    public var at: Date
    public var run: String
    public var kind: Kind
    /// A commit hash, a PR number or URL, a deployment id: what makes the outcome itself. An
    /// outcome of the same run, kind and reference is recorded once.
    public var ref: String?
    /// Lines changed, tests passed, …
    public var quantity: Int64?
    /// What the team says the outcome is worth.
    public var value: NanoUSD?
    /// Matched to the run by time and branch rather than named by it.
    public var inferred: Bool
    /// Who recorded it: `api`, `git`, …
    public var source: String?

    public init(
        id: String, at: Date, run: String, kind: Kind, ref: String? = nil, quantity: Int64? = nil, value: NanoUSD? = nil, inferred: Bool = false,
        source: String? = nil
    ) {
        self.id = id
        self.at = at
        self.run = run
        self.kind = kind
        self.ref = ref
        self.quantity = quantity
        self.value = value
        self.inferred = inferred
        self.source = source
    }

    /// Reads `{"run", "kind", "ref", "quantity", "value_usd", "at"}`, naming every problem.
    public static func make(from object: [String: Any], id: String, at now: Date, source: String?) throws(RuleProblems) -> Outcome {
        var fields = RuleFields(object, known: ["run", "kind", "ref", "quantity", "value_usd", "at"])
        var outcome = Outcome(id: id, at: now, run: "", kind: .custom, source: source)
        if case .set(let run) = fields.text("run"), !run.isEmpty {
            outcome.run = run
        } else {
            fields.problem("'run' is required: the run that produced it (x-strates-run, or the agent's session)")
        }
        if case .set(let text) = fields.text("kind") {
            if let kind = Kind(rawValue: text) {
                outcome.kind = kind
            } else {
                fields.problem("'kind' must be one of \(Kind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        } else {
            fields.problem("'kind' is required: one of \(Kind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if case .set(let ref) = fields.text("ref") {
            if ref.count > 512 { fields.problem("'ref' must be at most 512 characters") } else if !ref.isEmpty { outcome.ref = ref }
        }
        if case .set(let quantity) = fields.wholeNumber("quantity", minimum: 0) { outcome.quantity = quantity }
        if case .set(let nano) = fields.dollars("value_usd") { outcome.value = NanoUSD(nano) }
        if case .set(let text) = fields.text("at") {
            let formatter = ISO8601DateFormatter()
            if let date = formatter.date(from: text) { outcome.at = date } else { fields.problem("'at' must be an ISO 8601 time such as 2026-11-23T10:00:00Z") }
        }
        try fields.check()
        return outcome
    }

}
