import CoreMetrics
import StratesCore
import StratesWire
import Synchronization

/// The gateway's metrics, emitted through an injected factory (Prometheus in the server),
/// with OpenTelemetry GenAI names where they fit.
public struct GatewayMetrics: Sendable {
    let factory: any MetricsFactory
    /// Model names come from clients and upstreams: bounded before they become labels.
    let models: LabelValues

    public init(factory: any MetricsFactory, distinctModels: Int = LabelValues.defaultLimit) {
        self.factory = factory
        self.models = LabelValues(limit: distinctModels)
    }

    func recordRequest(_ record: RequestRecord, api: APIKind) {
        let provider = record.provider ?? "none"
        let model = models.value(record.servedModel ?? record.requestedModel)
        let requestedModel = models.value(record.requestedModel)
        Counter(
            label: "strates_requests_total", dimensions: [("api", api.rawValue), ("provider", provider), ("status", record.status.rawValue)], factory: factory
        ).increment()
        if let latency = record.latencyMs {
            Timer(label: "strates_request_duration_seconds", dimensions: [("api", api.rawValue), ("provider", provider)], factory: factory)
                .recordMilliseconds(latency)
        }
        if let ttft = record.timeToFirstTokenMs {
            Timer(label: "strates_time_to_first_token_seconds", dimensions: [("api", api.rawValue), ("provider", provider)], factory: factory)
                .recordMilliseconds(ttft)
        }
        let usage = record.usage
        for (kind, count) in [
            ("input", usage.input), ("output", usage.output), ("cache_read", usage.cacheRead),
            ("cache_write_5m", usage.cacheWrite5m), ("cache_write_1h", usage.cacheWrite1h), ("reasoning", usage.reasoning),
        ]
        where count > 0 {
            Counter(label: "strates_tokens_total", dimensions: [("kind", kind), ("provider", provider), ("model", model)], factory: factory)
                .increment(by: Int(count))
        }
        // OpenTelemetry GenAI semantic conventions: gen_ai.client.token.usage by token type.
        for (type, count) in [("input", usage.totalInput), ("output", usage.output)] where count > 0 {
            Recorder(
                label: "gen_ai_client_token_usage",
                dimensions: [("gen_ai_token_type", type), ("gen_ai_system", provider), ("gen_ai_request_model", requestedModel)], aggregate: true,
                factory: factory
            )
            .record(count)
        }
        if let cost = record.cost, cost.value > 0 {
            Counter(label: "strates_cost_nano_usd_total", dimensions: [("provider", provider), ("model", model)], factory: factory)
                .increment(by: Int(cost.value))
        } else if record.cost == nil, record.status == .completed {
            Counter(label: "strates_unknown_cost_requests_total", dimensions: [("provider", provider), ("model", model)], factory: factory).increment()
        }
    }

    func recordUpstreamError(provider: String, status: Int) {
        Counter(label: "strates_upstream_errors_total", dimensions: [("provider", provider), ("status", String(status))], factory: factory).increment()
    }

    func recordRejection(status: Int, code: String?) {
        Counter(label: "strates_rejections_total", dimensions: [("status", String(status)), ("code", code ?? "none")], factory: factory).increment()
    }
}

/// Label values taken from what requests carry (model names), kept from growing `/metrics`
/// without end: the first `limit` distinct values of at most `maxBytes` printable bytes
/// are labels of their own, every later or longer one is counted as `other`.
public final class LabelValues: Sendable {
    public static let defaultLimit = 200
    public static let maxBytes = 128
    public static let other = "other"

    let limit: Int
    let seen = Mutex(Set<String>())

    public init(limit: Int = LabelValues.defaultLimit) {
        self.limit = limit
    }

    /// `raw` as a label value: itself when it may be one, `other` otherwise.
    public func value(_ raw: String) -> String {
        guard raw.utf8.count <= Self.maxBytes, raw.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) else { return Self.other }
        return seen.withLock { seen in
            if seen.contains(raw) { return raw }
            guard seen.count < limit else { return Self.other }
            seen.insert(raw)
            return raw
        }
    }
}
