import Foundation
import StratesCore

/// An outcome read from a GitHub webhook event: a pull request opened or merged, or a
/// deployment that succeeded. The runs behind it are named by `Strates-Run:` lines in the
/// pull request's title or body; without them, its branch lets them be inferred.
public struct GitHubOutcome: Sendable, Equatable {
    public var kind: Outcome.Kind
    public var ref: String
    public var quantity: Int64?
    public var at: Date
    public var runs: [String]
    public var branch: String?
    /// The repository's full name (`owner/name`), which decides whose runs it may name.
    public var repository: String?

    public init(kind: Outcome.Kind, ref: String, quantity: Int64?, at: Date, runs: [String], branch: String?, repository: String? = nil) {
        self.repository = repository
        self.kind = kind
        self.ref = ref
        self.quantity = quantity
        self.at = at
        self.runs = runs
        self.branch = branch
    }

    /// The outcome an event carries, or why it carries none (an action Strates does not count).
    public static func read(event: String, payload: [String: Any]) -> Result<GitHubOutcome, Ignored> {
        let formatter = ISO8601DateFormatter()
        func date(_ value: Any?) -> Date { (value as? String).flatMap(formatter.date(from:)) ?? Date() }
        let repository = (payload["repository"] as? [String: Any])?["full_name"] as? String
        switch event {
        case "pull_request":
            guard let pull = payload["pull_request"] as? [String: Any], let action = payload["action"] as? String else {
                return .failure(Ignored("a pull_request event without its pull request"))
            }
            let number = (pull["number"] as? NSNumber).map { "#\($0)" } ?? (pull["html_url"] as? String ?? "")
            let ref = repository.map { "\($0)\(number)" } ?? number
            let runs = trailerRuns((pull["title"] as? String ?? "") + "\n" + (pull["body"] as? String ?? ""))
            let branch = (pull["head"] as? [String: Any])?["ref"] as? String
            let lines = lineCount(pull["additions"]).saturatingAdd(lineCount(pull["deletions"])).clamped(to: 0...Bounds.linesPerPullRequest)
            switch action {
            case "opened", "reopened":
                return .success(
                    GitHubOutcome(
                        kind: .pullRequest, ref: ref, quantity: lines, at: date(pull["created_at"]), runs: runs, branch: branch, repository: repository))
            case "closed" where pull["merged"] as? Bool == true:
                return .success(
                    GitHubOutcome(kind: .merge, ref: ref, quantity: lines, at: date(pull["merged_at"]), runs: runs, branch: branch, repository: repository))
            default:
                return .failure(Ignored("pull_request '\(action)' is not an outcome (opened, reopened, and closed when merged are)"))
            }
        case "deployment_status":
            guard let status = payload["deployment_status"] as? [String: Any], let deployment = payload["deployment"] as? [String: Any] else {
                return .failure(Ignored("a deployment_status event without its deployment"))
            }
            guard status["state"] as? String == "success" else {
                return .failure(Ignored("deployment state '\(status["state"] as? String ?? "")' is not an outcome (success is)"))
            }
            let id = (deployment["id"] as? NSNumber).map { "\($0)" } ?? ""
            let environment = deployment["environment"] as? String ?? "production"
            let runs = trailerRuns(deployment["description"] as? String ?? "")
            return .success(
                GitHubOutcome(
                    kind: .deployment, ref: "\(environment)/\(id)", quantity: nil, at: date(status["created_at"]), runs: runs,
                    branch: deployment["ref"] as? String, repository: repository))
        case "ping":
            return .failure(Ignored("ping"))
        default:
            return .failure(Ignored("'\(event)' events are not outcomes (pull_request and deployment_status are)"))
        }
    }

    /// A pull request's `additions` or `deletions`: a count from 0 to `Bounds.linesPerPullRequest`
    /// (a delivery is signed, but its numbers are still not arithmetic to trust).
    static func lineCount(_ value: Any?) -> Int64 {
        guard let number = value.flatMap(RuleFields.number) else { return 0 }
        return Int64(saturating: number.doubleValue).clamped(to: 0...Bounds.linesPerPullRequest)
    }

    /// The most runs one delivery may name.
    public static let maxRuns = 50

    /// `Strates-Run: RUN` lines (any case), in order, without repeats: at most `maxRuns`, each
    /// at most 256 characters, as attribution headers are.
    public static func trailerRuns(_ text: String) -> [String] {
        var runs: [String] = []
        for line in text.split(whereSeparator: \.isNewline) where runs.count < maxRuns {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard trimmed.lowercased().hasPrefix("strates-run:") else { continue }
            let run = String(trimmed.dropFirst("strates-run:".count).trimmingCharacters(in: .whitespaces).prefix(256))
            if !run.isEmpty, !runs.contains(run) { runs.append(run) }
        }
        return runs
    }

    public struct Ignored: Error, Equatable, Sendable {
        public var reason: String
        public init(_ reason: String) { self.reason = reason }
    }
}
