import Foundation

/// When a run (an agent session) counts as running away, and whether Strates stops it. A run
/// is flagged the first time it passes a limit: too many calls, too much spend, or the same
/// request again and again (an agent stuck in a loop). Flags are logged, sent to the alert
/// webhooks and kept in the ledger; with `stop`, the run's further requests are refused.
public struct RunawayPolicy: Sendable, Equatable {
    public var maxCallsPerRun: Int?
    public var maxCostPerRun: NanoUSD?
    /// Near-identical requests in a row (same model, same latest turn) that flag the run.
    public var repeatedRequests: Int?
    /// Refuse a flagged run's further requests (403 `run_stopped`) instead of only reporting it.
    public var stop: Bool

    public init(maxCallsPerRun: Int? = 500, maxCostPerRun: NanoUSD? = nil, repeatedRequests: Int? = 8, stop: Bool = false) {
        self.maxCallsPerRun = maxCallsPerRun
        self.maxCostPerRun = maxCostPerRun
        self.repeatedRequests = repeatedRequests
        self.stop = stop
    }

    public static let keys = ["max_calls_per_run", "max_cost_per_run_usd", "repeated_requests", "stop"]

    public var isOff: Bool { maxCallsPerRun == nil && maxCostPerRun == nil && repeatedRequests == nil }
}

/// A run found running away, as operators hear of it.
public struct RunawayFlag: Sendable, Equatable {
    public enum Reason: String, Sendable {
        case calls, cost, repeated
    }

    public var at: Date
    public var run: String
    public var team: String?
    public var reason: Reason
    public var calls: Int
    public var cost: NanoUSD
    public var stopped: Bool

    public init(at: Date, run: String, team: String?, reason: Reason, calls: Int, cost: NanoUSD, stopped: Bool) {
        self.at = at
        self.run = run
        self.team = team
        self.reason = reason
        self.calls = calls
        self.cost = cost
        self.stopped = stopped
    }

    public func text(_ policy: RunawayPolicy) -> String {
        let why =
            switch reason {
            case .calls: "made \(calls) calls (limit \(policy.maxCallsPerRun ?? 0))"
            case .cost: "spent \(cost) (limit \(policy.maxCostPerRun ?? .zero))"
            case .repeated: "sent the same request \(policy.repeatedRequests ?? 0) times in a row"
            }
        return "run '\(run)'\(team.map { " (team \($0))" } ?? "") \(why); \(calls) calls, \(cost) so far"
            + (stopped ? "; its further requests are refused" : "")
    }

}
