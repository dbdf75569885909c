import Foundation

/// How the simulated provider behaves: timing, output length, and faults.
public struct SimSettings: Sendable, Equatable {
    /// Delay before the response head, in milliseconds.
    public var latencyMs: Int = 0
    /// Extra delay before the first generated token of a stream, in milliseconds.
    public var timeToFirstTokenMs: Int = 0
    /// Generation speed for streams; 0 means as fast as possible.
    public var tokensPerSecond: Int = 0
    /// Output length is drawn from `outputDistribution` (per request, deterministically
    /// from the request body), kept within this range, then capped by the request's max tokens.
    public var outputTokensMin: Int = 16
    public var outputTokensMax: Int = 256
    public var outputDistribution: OutputDistribution = .uniform
    /// The median for `lognormal`, the value for `fixed`; default: the middle of the range.
    public var outputTokensMean: Int?
    /// A fault every request to this model gets, unless a request header names another.
    public var fault: SimFault?
    /// How long a `timeout` fault hangs before giving up, in milliseconds.
    public var hangMs: Int = 600_000
    /// The output length a request's `x-sim-output-tokens` header asks for, instead of a draw.
    public var forcedOutputTokens: Int?

    /// The most output tokens `x-sim-output-tokens` may ask for: any key may send it, and
    /// the simulated answer is built in memory.
    public static let maxHeaderOutputTokens = 131_072
    /// The longest delay `x-sim-latency-ms`, `x-sim-ttft-ms` and `x-sim-hang-ms` may ask for.
    public static let maxHeaderDelayMs = 600_000

    public init() {}
}

/// How simulated output lengths are spread.
public enum OutputDistribution: String, Sendable, CaseIterable {
    /// Every length in the range equally likely.
    case uniform
    /// Always `outputTokensMean`.
    case fixed
    /// Log-normal around the mean (σ = 0.8): mostly short answers, a long tail, as real
    /// model outputs are.
    case lognormal
}

extension SimSettings {
    /// Draws an output length from the configured distribution.
    func drawOutputTokens(_ random: inout SimRandom) -> Int {
        let low = min(outputTokensMin, outputTokensMax)
        let high = max(outputTokensMin, outputTokensMax)
        let mean = outputTokensMean ?? (low + high) / 2
        let value: Int
        switch outputDistribution {
        case .uniform:
            value = random.next(in: low...high)
        case .fixed:
            value = mean
        case .lognormal:
            // Box–Muller from two uniform draws in (0, 1].
            let u1 = Double(random.next() % 1_000_000 + 1) / 1_000_000
            let u2 = Double(random.next() % 1_000_000) / 1_000_000
            let normal = (-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2)
            value = Int((Double(max(1, mean)) * Foundation.exp(0.8 * normal)).rounded())
        }
        return min(max(value, low), high)
    }
}

/// Faults the simulated provider can produce, by config or by the `x-sim-fault` header.
public enum SimFault: String, Sendable, CaseIterable {
    /// 429 with `retry-after`.
    case rateLimited = "429"
    case serverError = "500"
    case unavailable = "503"
    /// No response head until `hangMs` passes.
    case timeout
    /// The stream (or body) stops half-way and the connection fails.
    case cut
    /// A 200 whose body (or one stream event) is not valid JSON.
    case malformed
}
