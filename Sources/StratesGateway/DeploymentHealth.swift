import Foundation
import StratesCore
import Synchronization

/// How each deployment has been doing on this gateway: consecutive failures, a cool-down
/// after too many, and a moving average of the time to the response head. Per process,
/// like rate-limit counters: each replica learns for itself.
public final class DeploymentHealth: Sendable {
    struct State {
        var failures = 0
        var coolingUntil: Date?
        var latencyMs: Double?
    }

    /// Consecutive failures after which a deployment cools down.
    let failuresToCool: Int
    let cooldownSeconds: Double
    let table = Mutex([String: State]())

    public init(failuresToCool: Int = 3, cooldownSeconds: Double = 30) {
        self.failuresToCool = failuresToCool
        self.cooldownSeconds = cooldownSeconds
    }

    /// A response head came back (any status the request itself did not cause).
    func succeeded(_ name: String, latencyMs: Double) {
        table.withLock { table in
            var state = table[name] ?? State()
            state.failures = 0
            state.coolingUntil = nil
            state.latencyMs = state.latencyMs.map { $0 * 0.8 + latencyMs * 0.2 } ?? latencyMs
            table[name] = state
        }
    }

    /// An attempt failed in a way another attempt might not: count it, and cool the
    /// deployment down when it has failed too often in a row (at once for a 429, for as
    /// long as the provider asked when that is longer).
    func failed(_ name: String, _ failure: AttemptFailure, at now: Date) {
        guard failure.isDeploymentFault else { return }
        table.withLock { table in
            var state = table[name] ?? State()
            state.failures += 1
            var cool: Double?
            if case .rateLimited(let after) = failure { cool = max(after ?? 0, cooldownSeconds) }
            if state.failures >= failuresToCool { cool = max(cool ?? 0, cooldownSeconds) }
            if let cool { state.coolingUntil = now.addingTimeInterval(cool) }
            table[name] = state
        }
    }

    /// What the planner needs, for the deployments of one route.
    func standings(_ names: [String]) -> [String: DeploymentStanding] {
        table.withLock { table in
            var out: [String: DeploymentStanding] = [:]
            for name in names {
                guard let state = table[name] else { continue }
                out[name] = DeploymentStanding(coolingUntil: state.coolingUntil, latencyMs: state.latencyMs)
            }
            return out
        }
    }

    /// Every deployment seen, for the admin API: name, failures in a row, cooling until, latency.
    public var snapshot: [(name: String, failures: Int, coolingUntil: Date?, latencyMs: Double?)] {
        table.withLock { table in
            table.sorted { $0.key < $1.key }.map { ($0.key, $0.value.failures, $0.value.coolingUntil, $0.value.latencyMs) }
        }
    }
}
