import Foundation
import Logging
import NIOCore
import StratesCore
import StratesProviders
import StratesWire

extension Gateway {
    /// The answer to a delivered call: the headers Strates adds (its request id, the
    /// deployment, fallbacks, auto tier, downgrade and cap, the client's own rate limits),
    /// then the upstream's error passed back, its stream relayed, or its whole answer
    /// metered. Each is carried back into the client's format when the call was carried.
    func answer(_ delivery: Delivery, record: RequestRecord, routed: RouteDecision, admission: Admission, _ call: ModelCall) async -> GatewayResponse {
        let (request, summary, logger) = (call.request, call.summary, call.logger)
        let response = delivery.response
        var record = record
        if let run = routed.affinityRun, response.status < 400, let provider = record.provider, let model = record.servedModel,
            record.downgradedBy == nil
        {
            memory.affinity.remember(run: run, route: routed.route.pattern, deployment: "\(provider)/\(model)", provider: provider, now: Date())
        }
        record.upstreamRequestID = (response.header("x-request-id") ?? response.header("request-id")).map { String($0.prefix(256)) }
        let headers = answerHeaders(delivery, record: record, auto: routed.auto, admission: admission, call)
        guard (200..<300).contains(response.status) else {
            return await passUpstreamError(response, headers: headers, record: record, request: request, logger: logger, translation: delivery.translation)
        }
        // Some OpenAI-compatible servers ignore `stream: true` and answer with one JSON body:
        // meter that as the whole answer it is.
        let answeredWhole = response.header("content-type")?.lowercased().hasPrefix("application/json") ?? false
        if summary.stream && !answeredWhole {
            let relay = StreamRelay(
                request: request, record: record, body: response.body, hideUsageChunk: Self.hidesUsageChunk(summary, api: request.api),
                upstreamAPI: delivery.translation.upstreamAPI(client: request.api),
                translator: delivery.translation.streamTranslator(includeUsage: summary.clientIncludesUsage),
                unseenReasoningBound: Self.unseenReasoningBound(summary, model: record.servedModel ?? record.requestedModel),
                settle: { [self] record in settle(&record, request: request, logger: logger) }
            )
            return GatewayResponse(status: response.status, headers: headers, body: .stream(relay))
        }
        return await completeWhole(response, headers: headers, record: record, request: request, logger: logger, translation: delivery.translation)
    }

    /// The upstream's headers as passed on, with Strates' own.
    func answerHeaders(_ delivery: Delivery, record: RequestRecord, auto: AutoChoice?, admission: Admission, _ call: ModelCall)
        -> [(name: String, value: String)]
    {
        var headers = HeaderPolicy.downstream(delivery.response.headers)
        headers.append(("x-strates-request-id", call.id))
        if admission.rates.isLimited {
            // The client's limits are Strates' now, not the provider account's.
            headers.removeAll { RateHeaders.isRateHeader($0.name) }
            headers += RateHeaders.render(admission.rates, api: call.api)
        }
        headers.append(("x-strates-deployment", "\(record.provider ?? "")/\(record.servedModel ?? "")"))
        if !delivery.failures.isEmpty { headers.append(("x-strates-fallbacks", String(delivery.failures.count))) }
        if let auto {
            headers.append(("x-strates-auto-tier", HeaderPolicy.printable(auto.tier)))
            headers.append(("x-strates-routing-reason", HeaderPolicy.printable(auto.reason)))
        }
        if let budget = record.downgradedBy {
            headers.append(("x-strates-downgraded-to", record.servedModel ?? ""))
            headers.append(("x-strates-budget", budget))
        }
        if let cap = admission.budget.outputCap {
            headers.append(("x-strates-max-tokens-capped", String(cap)))
            if let name = admission.budget.cappedBy, record.downgradedBy == nil { headers.append(("x-strates-budget", name)) }
        }
        return headers
    }

    /// The output a request that reasons may spend without streaming it: its output limit
    /// (or 4,096 when it sets none), when it asks for reasoning or its model reasons unasked
    /// (OpenAI's o-series, GPT-5 and Codex models); nil for a request that does not reason.
    static func unseenReasoningBound(_ summary: RequestSummary, model: String) -> Int64? {
        let name = model.split(separator: "/").last.map(String.init)?.lowercased() ?? ""
        let reasonsUnasked = ["o1", "o3", "o4", "gpt-5", "codex"].contains { name.hasPrefix($0) } || name.contains("codex")
        let asks = summary.reasoning.map { !["none", "disabled"].contains($0.lowercased()) } ?? reasonsUnasked
        guard asks else { return nil }
        return summary.maxTokens ?? 4_096
    }

    /// A non-streamed answer: read it whole, meter it, pass it on unchanged.
    func completeWhole(
        _ response: UpstreamResponse, headers: [(name: String, value: String)], record: RequestRecord, request: GatewayRequest, logger: Logger,
        translation: Translation = .none
    ) async -> GatewayResponse {
        var record = record
        var meter = UsageMeter(api: translation.upstreamAPI(client: request.api))
        let buffer: ByteBuffer
        do {
            buffer = try await response.body.collect(upTo: limits.maxResponseBytes)
        } catch {
            return refuseWhole(
                record, status: .cut, reason: "the provider's response was cut short", request: request, logger: logger,
                failure: .upstreamUnavailable(record.provider ?? "upstream", "the response was cut short")
            )
        }
        let bytes = Array(buffer.readableBytesView)
        let readable = meter.observe(body: bytes)
        guard request.api == .countTokens || readable else {
            // A success status with a body that is not JSON: the client gets a clear error in
            // its own format instead of bytes its SDK cannot read.
            return refuseWhole(
                record, status: .failed, reason: "the provider's response was not valid JSON", request: request, logger: logger,
                failure: GatewayError(
                    status: 502,
                    message:
                        "The provider '\(record.provider ?? "upstream")' answered with a malformed body (not valid JSON). Try again; the call was recorded.",
                    code: "upstream_malformed_response")
            )
        }
        record.httpStatus = response.status
        if let usage = meter.usage {
            record.usage = usage
        } else if request.api == .countTokens {
            record.usage = .zero
        } else {
            record.usage = meter.estimatedUsage(inputEstimate: record.inputEstimate)
            record.usageEstimated = true
            record.error = meter.implausibleUsage.map(RequestRecord.implausibleUsageError) ?? "the provider's response had no readable usage"
        }
        record.noteResponse(meter)
        guard translation.isCarried else {
            // The record is closed in the journal before the answer goes out (a `kill -9`
            // after the client has it cannot leave it `interrupted`); what follows — the
            // controls given back, metrics, the log line — waits until the answer is written.
            close(&record, request: request, logger: logger)
            let closed = record
            let settlement = DeferredSettlement { [self] in conclude(closed, request: request, logger: logger) }
            return GatewayResponse(status: response.status, headers: headers, body: .buffer(buffer), settlement: settlement)
        }
        do {
            let answer = try translation.answer(bytes)
            settle(&record, request: request, logger: logger)
            return GatewayResponse(
                status: response.status, headers: headers.filter { $0.name != "content-type" } + [("content-type", "application/json")], body: .bytes(answer))
        } catch {
            return refuseWhole(
                record, status: .failed, reason: "the Anthropic answer could not be carried back", request: request, logger: logger,
                failure: GatewayError(
                    status: 502,
                    message:
                        "The provider '\(record.provider ?? "upstream")' answered in a form Strates could not carry back to the chat format: \(error.message) The call was recorded.",
                    code: "upstream_malformed_response")
            )
        }
    }

    /// A whole answer that cannot be passed on: the call may have been charged, so it is
    /// metered as an estimate, and the client gets a 502 in its own format.
    func refuseWhole(_ record: RequestRecord, status: RequestStatus, reason: String, request: GatewayRequest, logger: Logger, failure: GatewayError)
        -> GatewayResponse
    {
        var record = record
        record.status = status
        record.httpStatus = failure.statusCode
        record.usage = Usage(input: record.inputEstimate)
        record.usageEstimated = true
        record.error = reason
        settle(&record, request: request, logger: logger)
        metrics.recordUpstreamError(provider: record.provider ?? "none", status: failure.statusCode)
        return GatewayResponse(
            status: failure.statusCode, headers: [("content-type", "application/json"), ("x-strates-request-id", record.id)],
            body: .bytes(failure.body(format: request.api.errorFormat)))
    }

    /// An upstream error status: recorded, and passed back as the provider sent it (it is
    /// already in the caller's format, since the provider speaks the same API).
    func passUpstreamError(
        _ response: UpstreamResponse, headers: [(name: String, value: String)], record: RequestRecord, request: GatewayRequest, logger: Logger,
        translation: Translation = .none
    ) async -> GatewayResponse {
        var record = record
        record.status = .failed
        record.httpStatus = response.status
        metrics.recordUpstreamError(provider: record.provider ?? "none", status: response.status)
        let collected = try? await response.body.collect(upTo: 1 << 20)
        var bytes = collected.map { Array($0.readableBytesView) } ?? []
        var headers = headers
        if translation.isCarried {
            // The provider's error in the client's own API shape.
            bytes = translation.error(bytes, status: response.status)
            headers.removeAll { $0.name == "content-type" }
            headers.append(("content-type", "application/json"))
        } else if (try? JSONView(object: bytes)) == nil {
            // Not JSON: wrap it so the client's SDK still gets its own error shape.
            let snippet = String(decoding: bytes.prefix(300), as: UTF8.self)
            let wrapped = GatewayError(
                status: response.status, message: "The provider '\(record.provider ?? "upstream")' answered \(response.status): \(snippet)")
            bytes = wrapped.body(format: request.api.errorFormat)
            headers.removeAll { $0.name == "content-type" }
            headers.append(("content-type", "application/json"))
        }
        record.error = "upstream status \(response.status)"
        settle(&record, request: request, logger: logger)
        return GatewayResponse(status: response.status, headers: headers, body: .bytes(bytes))
    }

    /// `count_tokens` for a model whose provider has no such endpoint: an estimate.
    func countTokensLocally(record: RequestRecord, summary: RequestSummary) -> GatewayResponse {
        let body = Array(#"{"input_tokens":\#(summary.estimatedInputTokens)}"#.utf8)
        return GatewayResponse(
            status: 200, headers: [("content-type", "application/json"), ("x-strates-request-id", record.id), ("x-strates-estimated", "true")],
            body: .bytes(body))
    }

    /// The controls a routed request must pass, in order: model access policies (403),
}
