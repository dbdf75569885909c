/// How the simulated provider behaves: timing, output length, and faults.
public struct SimSettings: Sendable, Equatable {
    /// Delay before the response head, in milliseconds.
    public var latencyMs: Int = 0
    /// Extra delay before the first generated token of a stream, in milliseconds.
    public var timeToFirstTokenMs: Int = 0
    /// Generation speed for streams; 0 means as fast as possible.
    public var tokensPerSecond: Int = 0
    /// Output length is drawn uniformly from this range (per request, deterministically
    /// from the request body), then capped by the request's max tokens.
    public var outputTokensMin: Int = 16
    public var outputTokensMax: Int = 256
    /// A fault every request to this model gets, unless a request header names another.
    public var fault: SimFault?
    /// How long a `timeout` fault hangs before giving up, in milliseconds.
    public var hangMs: Int = 600_000

    public init() {}
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
