import Foundation
import StratesCore

/// Sample ledgers for the ledger, rollup and report tests.
public enum LedgerSamples {
    /// A small repeatable generator (a linear congruential one) for sample ledgers.
    public struct Seeded {
        public var state: UInt64
        public init(state: UInt64) { self.state = state }
        public mutating func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
        public mutating func pick<T>(_ values: [T]) -> T { values[next(values.count)] }
    }

    /// Where the sample records start: a Unix time in milliseconds.
    public static let start: Int64 = 1_790_000_000_000

    /// `count` records over three days from `start`, varied in every dimension the rollups
    /// group by, the same for the same seed.
    public static func records(count: Int, seed: UInt64) -> [RequestRecord] {
        var random = Seeded(state: seed)
        return (0..<count).map { index in
            let started = start + Int64(random.next(72 * 3_600_000))
            let run: String? = random.pick([nil, "r\(random.next(12))"])
            let child = run != nil && random.next(4) == 0
            let model = random.pick(["gpt-4o", "claude-sonnet-4-5", "gpt-4.1-mini"])
            return RequestRecord(
                id: "q\(seed)-\(index)", startedAt: Date(timeIntervalSince1970: Double(started) / 1000), api: "messages", stream: false,
                status: random.pick([.completed, .completed, .completed, .failed, .rejected]),
                attribution: Attribution(
                    organization: "default", team: random.pick([nil, "a", "b", "c"]), member: random.pick([nil, "ana", "bo"]),
                    keyID: random.pick(["k1", "k2"]),
                    environment: random.pick([.production, .sandbox]), workflow: random.pick([nil, "review", "fix"]),
                    run: child ? "\(run!)/sub" : run, parentRun: child ? run : nil, process: child ? "subagent" : nil
                ),
                requestedModel: model, servedModel: random.next(5) == 0 ? nil : model, provider: random.pick([nil, "openai", "anthropic"]),
                usage: Usage(
                    input: Int64(random.next(5_000)), output: Int64(random.next(900)), cacheRead: Int64(random.next(3_000)),
                    cacheWrite5m: Int64(random.next(50))),
                usageEstimated: random.next(10) == 0, cost: random.next(6) == 0 ? nil : NanoUSD(Int64(random.next(90_000))), inputEstimate: 1
            )
        }
    }
}
