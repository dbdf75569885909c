import Foundation
import Logging
import StratesCore
import StratesProviders
import StratesWire

/// What the stages learn of one model call before it is routed, handed down the pipeline.
struct ModelCall: Sendable {
    let request: GatewayRequest
    let id: String
    let logger: Logger
    let summary: RequestSummary
    let attribution: Attribution
    /// False for a request its client says is not a turn of the conversation (a Codex
    /// compaction): workload profiles do not count it as a step.
    let isTurn: Bool

    var api: APIKind { request.api }
}

extension Gateway {
    /// One model call, stage by stage: authenticate and attribute it, decide its route,
    /// admit it past the controls, open it in the journal, deliver it upstream, and answer
    /// (metering and settling as the answer goes back). A stage ends the call by throwing
    /// its error in the caller's terms; a call refused once recorded is settled first.
    func process(_ request: GatewayRequest, requestID: String, logger: Logger) async throws(GatewayError) -> GatewayResponse {
        let call = try await authenticate(request, id: requestID, logger: logger)
        let routed = try await decideRoute(call)
        guard !routed.plan.isEmpty else { return try unroutable(routed, call) }
        var record = routed.record
        let admission = try await admit(&record, demand: routed.demand, call)
        try journal(&record, call)
        let delivery = try await deliver(routed, record: &record, admission: admission, call)
        return await answer(delivery, record: record, routed: routed, admission: admission, call)
    }

    /// Who is calling (a 401 otherwise), what they ask (a 400 for a body Strates cannot
    /// read, or an output limit above the server's), and on whose account.
    func authenticate(_ request: GatewayRequest, id: String, logger: Logger) async throws(GatewayError) -> ModelCall {
        let key = try await authenticator.authenticate(headers: request.headers)
        let summary: RequestSummary
        do {
            summary = try RequestSummary.inspect(request.body, api: request.api)
        } catch {
            throw GatewayError.badRequest(error.message, param: error.param)
        }
        if let asked = summary.maxTokens, asked > limits.maxOutputTokens {
            let field = summary.maxTokensField ?? "max_tokens"
            throw GatewayError.badRequest(
                "'\(field)' is \(asked); Strates accepts at most \(limits.maxOutputTokens) output tokens per request (server.max_output_tokens). Lower \(field).",
                param: field
            )
        }
        let codex = CodexTurn(headers: request.headers)
        let attribution = AttributionResolver.resolve(key: key, headers: request.headers, summary: summary, codex: codex)
        return ModelCall(request: request, id: id, logger: logger, summary: summary, attribution: attribution, isTurn: codex?.isTurn ?? true)
    }

    /// Passes the routed call through every control in order (`GatewayControls.inOrder`);
    /// `count_tokens` spends nothing and passes none. A refusal is recorded as rejected and
    /// settled, which gives back what the earlier controls took.
    func admit(_ record: inout RequestRecord, demand: Demand, _ call: ModelCall) async throws(GatewayError) -> Admission {
        var admission = Admission()
        guard call.api != .countTokens else { return admission }
        for control in admissionOrder {
            do {
                try await control.admit(record, demand: demand, into: &admission)
                record.grantID = admission.grantID
            } catch {
                record.status = .rejected
                record.httpStatus = error.statusCode
                record.error = error.code.map { "refused: \($0)" } ?? "refused"
                settle(&record, request: call.request, logger: call.logger)
                throw error
            }
        }
        record.outputCap = admission.budget.outputCap
        return admission
    }

    /// Opens the call in the ledger's journal before anything is sent: a call Strates
    /// cannot record is not forwarded (503), and its controls are given back.
    func journal(_ record: inout RequestRecord, _ call: ModelCall) throws(GatewayError) {
        do {
            try ledger.begin(record)
        } catch {
            call.logger.error("ledger journal unavailable", metadata: ["error": "\(error)"])
            record.status = .rejected
            releaseControls(record, executor: call.request.executor)
            throw GatewayError(
                status: 503,
                message: "Strates cannot record usage right now (ledger journal unavailable), so it is not forwarding requests. Try again shortly.",
                code: "ledger_unavailable")
        }
    }

    /// Sends the call to its plan's deployments (`attempt`, in Gateway+Attempts.swift),
    /// each in its own API: the body as the client sent it with the deployment's model, or
    /// carried across formats; capped to a budget's lower output limit. A call no
    /// deployment answered is settled as failed and answered with a 502 or 504.
    func deliver(_ routed: RouteDecision, record: inout RequestRecord, admission: Admission, _ call: ModelCall) async throws(GatewayError) -> Delivery {
        let (request, summary) = (call.request, call.summary)
        var body = request.body
        var bodySummary = summary
        if Self.hidesUsageChunk(summary, api: request.api) {
            // Ask the upstream for usage even when the client did not; the relay hides that chunk.
            body = RequestRewrite.requestingStreamUsage(in: body, summary: summary)
            if routed.plan.contains(where: { $0.upstreamModel != summary.model }) {
                // The splice moved the model's bytes: find them again (aliases only).
                bodySummary = (try? RequestSummary.inspect(body, api: request.api)) ?? summary
            }
        }
        do {
            return try await attempt(routed.plan, retries: routed.route.retries, client: request.api, record: &record, logger: call.logger) {
                target, translation in
                let api = translation.upstreamAPI(client: request.api)
                var outgoing =
                    translation.isCarried
                    ? try translation.request(request.body, model: target.upstreamModel, defaultMaxTokens: limits.translatedMaxTokens)
                    : RequestRewrite.replacingModel(in: body, summary: bodySummary, with: target.upstreamModel)
                if let cap = admission.budget.outputCap { outgoing = RequestRewrite.cappingMaxTokens(in: outgoing, api: api, to: cap) }
                return UpstreamRequest(
                    api: api, body: outgoing, headers: HeaderPolicy.upstream(request.headers), stream: summary.stream,
                    model: target.upstreamModel, requestID: call.id, query: request.query, timeout: target.deployment.timeoutSeconds
                )
            }
        } catch let error as TranslationError {
            record.status = .rejected
            record.httpStatus = 400
            record.error = "refused: untranslatable"
            settle(&record, request: request, logger: call.logger)
            throw GatewayError.badRequest(error.message, param: error.param)
        } catch let error as ProviderError {
            let provider = record.provider ?? "upstream"
            record.status = .failed
            record.httpStatus = error.isTimeout ? 504 : 502
            record.error = error.description
            settle(&record, request: request, logger: call.logger)
            metrics.recordUpstreamError(provider: provider, status: record.httpStatus ?? 502)
            throw error.isTimeout ? GatewayError.upstreamTimeout(provider) : GatewayError.upstreamUnavailable(provider, error.description)
        } catch {
            record.status = .failed
            record.httpStatus = 502
            record.error = "upstream call cancelled or failed"
            settle(&record, request: request, logger: call.logger)
            throw GatewayError.upstreamUnavailable(record.provider ?? "upstream", "the call did not complete")
        }
    }

    /// A streamed chat call whose client did not ask for usage: Strates asks for it and
    /// hides the chunk that carries it.
    static func hidesUsageChunk(_ summary: RequestSummary, api: APIKind) -> Bool {
        api == .chatCompletions && summary.stream && !summary.clientIncludesUsage
    }
}
