import Foundation

/// A score given to one request or to a whole run, by a person or a process (a review, a
/// test run): what cost-aware routing learns success rates from.
public struct Feedback: Sendable, Equatable {
    public var id: String
    public var at: Date
    /// Exactly one of `requestID` and `run` is set.
    public var requestID: String?
    public var run: String?
    /// 0 (failure) to 1 (success).
    public var score: Double
    /// Who or what gave it: `human`, `ci`, … (free text, short).
    public var source: String?
    /// Not logged; kept for the people who read the feedback.
    public var comment: String?

    public init(id: String, at: Date, requestID: String?, run: String?, score: Double, source: String? = nil, comment: String? = nil) {
        self.id = id
        self.at = at
        self.requestID = requestID
        self.run = run
        self.score = score
        self.source = source
        self.comment = comment
    }

    /// Reads `{"request_id" | "run", "score", "source", "comment"}`, naming every problem.
    public static func make(from object: [String: Any], id: String, at: Date) throws(RuleProblems) -> Feedback {
        var fields = RuleFields(object, known: ["request_id", "run", "score", "source", "comment"])
        let request: String? = if case .set(let text) = fields.text("request_id"), !text.isEmpty { text } else { nil }
        let run: String? = if case .set(let text) = fields.text("run"), !text.isEmpty { text } else { nil }
        if (request == nil) == (run == nil) { fields.problem("give either 'request_id' (one request) or 'run' (a whole run)") }
        var score: Double?
        if let value = object["score"] {
            if let number = RuleFields.number(value)?.doubleValue, number >= 0, number <= 1 {
                score = number
            } else {
                fields.problem("'score' must be a number from 0 (failure) to 1 (success)")
            }
        } else {
            fields.problem("'score' is required: a number from 0 (failure) to 1 (success)")
        }
        let source: String? = if case .set(let text) = fields.text("source") { text } else { nil }
        if let source, source.count > 64 { fields.problem("'source' must be at most 64 characters") }
        let comment: String? = if case .set(let text) = fields.text("comment") { text } else { nil }
        if let comment, comment.count > 2_000 { fields.problem("'comment' must be at most 2,000 characters") }
        try fields.check()
        return Feedback(id: id, at: at, requestID: request, run: run, score: score ?? 0, source: source, comment: comment)
    }

}
