import Foundation
import StratesCore
import Synchronization

/// Each run's calls, spend and latest request, to flag a run that runs away (and, if the
/// policy says so, stop it). In memory, per process; runs idle for an hour are forgotten.
public final class RunWatch: Sendable {
    struct State {
        var calls = 0
        var cost: Int64 = 0
        var fingerprint = 0
        var repeats = 0
        var flagged: Set<String> = []
        var stopped = false
        var lastSeen = Date()
    }

    public let policy: RunawayPolicy
    let runs = Mutex([String: State]())

    public init(policy: RunawayPolicy) {
        self.policy = policy
    }

    /// Refuses a request of a stopped run.
    func admit(_ record: RequestRecord) throws(GatewayError) {
        guard policy.stop, let run = record.attribution.run else { return }
        guard let state = runs.withLock({ $0[run] }), state.stopped else { return }
        let limits = [
            policy.maxCallsPerRun.map { "\($0) calls" }, policy.maxCostPerRun.map { "\($0)" },
            policy.repeatedRequests.map { "\($0) identical requests in a row" },
        ].compactMap { $0 }.joined(separator: ", ")
        throw GatewayError(
            status: 403,
            message:
                "Run '\(run)' was stopped as a runaway: \(state.calls) calls and \(NanoUSD(state.cost)) so far, past its limits (\(limits)). Start a new run (a new x-strates-run or session) or ask an admin to raise the runaway limits.",
            code: "run_stopped"
        )
    }

    /// A run produced something: its calls and spend count from zero again, and a stopped run
    /// may go on (the limits are on work without an outcome).
    public func outcomeRecorded(run: String) {
        runs.withLock { runs in
            guard var state = runs[run] else { return }
            state.calls = 0
            state.cost = 0
            state.repeats = 0
            state.flagged = []
            state.stopped = false
            runs[run] = state
        }
    }

    /// Counts a settled request of its run; returns the flags it raised (each once per run).
    func observe(_ record: RequestRecord, body: [UInt8], now: Date = Date()) -> [RunawayFlag] {
        guard let run = record.attribution.run, record.status != .rejected else { return [] }
        // The latest turn sits at the end of the body: its tail, with the model, stands for the request.
        var hasher = Hasher()
        hasher.combine(record.requestedModel)
        hasher.combine(body.count)
        body.suffix(2_048).withUnsafeBytes { hasher.combine(bytes: $0) }
        let fingerprint = hasher.finalize()
        return runs.withLock { runs in
            if runs.count > 10_000 { runs = runs.filter { now.timeIntervalSince($0.value.lastSeen) < 3_600 } }
            var state = runs[run] ?? State()
            state.calls += 1
            state.cost = state.cost.saturatingAdd(record.cost?.value ?? 0)
            state.repeats = state.fingerprint == fingerprint ? state.repeats + 1 : 1
            state.fingerprint = fingerprint
            state.lastSeen = now
            var reasons: [RunawayFlag.Reason] = []
            if let limit = policy.maxCallsPerRun, state.calls > limit { reasons.append(.calls) }
            if let limit = policy.maxCostPerRun, state.cost > limit.value { reasons.append(.cost) }
            if let limit = policy.repeatedRequests, state.repeats >= limit { reasons.append(.repeated) }
            var flags: [RunawayFlag] = []
            for reason in reasons where !state.flagged.contains(reason.rawValue) {
                state.flagged.insert(reason.rawValue)
                if policy.stop { state.stopped = true }
                flags.append(
                    RunawayFlag(
                        at: now, run: run, team: record.attribution.team, reason: reason, calls: state.calls, cost: NanoUSD(state.cost), stopped: policy.stop))
            }
            runs[run] = state
            return flags
        }
    }
}
