import Foundation
import NIOCore

/// What one run counted, in nanoseconds where it is a time.
struct LoadStats {
    var measuredStarts = 0
    var warmupRequests = 0
    var succeeded = 0
    var latencies: [Int64] = []
    var firstTokens: [Int64] = []
    var errors: [String: Int] = [:]
    var bytesReceived = 0
    var lastEnd: NIODeadline?

    mutating func count(error kind: String) {
        errors[kind, default: 0] += 1
    }
}

/// The JSON `strates-load` prints: counts, throughput, and latency and first-token
/// percentiles in milliseconds.
struct LoadReport {
    let plan: LoadPlan
    let stats: LoadStats
    let measuredSeconds: Double

    func json() -> Data {
        var object: [String: Any] = [
            "concurrency": plan.concurrency,
            "measured_seconds": measuredSeconds,
            "requests": stats.latencies.count,
            "succeeded_total": stats.succeeded,
            "warmup_requests": stats.warmupRequests,
            "errors": stats.errors.values.reduce(0, +),
            "error_kinds": stats.errors,
            "requests_per_second": Double(stats.latencies.count) / measuredSeconds,
            "bytes_received": stats.bytesReceived,
            "latency_ms": Self.summary(stats.latencies),
        ]
        if !stats.firstTokens.isEmpty { object["first_token_ms"] = Self.summary(stats.firstTokens) }
        var data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        data.append(UInt8(ascii: "\n"))
        return data
    }

    /// p50, p90, p99, max and mean, nearest-rank, in milliseconds.
    static func summary(_ samples: [Int64]) -> [String: Double] {
        guard !samples.isEmpty else { return [:] }
        let sorted = samples.sorted()
        func rank(_ p: Double) -> Double {
            let index = min(sorted.count - 1, max(0, Int((p * Double(sorted.count)).rounded(.up)) - 1))
            return Double(sorted[index]) / 1e6
        }
        let mean = Double(sorted.reduce(0, +)) / Double(sorted.count) / 1e6
        return ["p50": rank(0.50), "p90": rank(0.90), "p99": rank(0.99), "max": Double(sorted.last!) / 1e6, "mean": mean]
    }
}
