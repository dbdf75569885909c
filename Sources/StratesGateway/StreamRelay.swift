import Foundation
import NIOCore
import StratesCore
import StratesProviders
import StratesWire
import Synchronization

/// Relays an upstream stream to the client byte for byte while metering it, and settles
/// the request when the stream ends: normally, cut by the upstream, or cut by the client.
/// A stream carried across formats is metered as the upstream sent it and rewritten, event
/// by event, into the client's format.
public struct StreamRelay: Sendable {
    let body: UpstreamBody
    /// True when Strates added `include_usage` itself: the usage-only chunk is then hidden.
    let hideUsageChunk: Bool
    /// The API the upstream answers in (the client's, unless the stream is carried).
    let upstreamAPI: APIKind
    /// Set when the stream is carried into another format.
    let translator: (any StreamTranslator)?
    /// The request being relayed, and the promise that it is settled exactly once.
    let settlement: Settlement
    /// For a request that reasons, the output it may have spent unseen before a cut: its
    /// output limit. Reasoning tokens are billed but not streamed, so a cut stream's visible
    /// text says nothing of them; the estimate takes the limit (the most it can cost) rather
    /// than nothing, and is marked estimated.
    let unseenReasoningBound: Int64?

    /// `settle` prices and finishes the record once the stream ends (the gateway's settlement).
    init(
        request: GatewayRequest, record: RequestRecord, body: UpstreamBody, hideUsageChunk: Bool,
        upstreamAPI: APIKind? = nil, translator: (any StreamTranslator)? = nil, unseenReasoningBound: Int64? = nil,
        settle: @escaping @Sendable (inout RequestRecord) -> Void
    ) {
        self.unseenReasoningBound = unseenReasoningBound
        self.body = body
        self.hideUsageChunk = hideUsageChunk && translator == nil
        self.upstreamAPI = upstreamAPI ?? request.api
        self.translator = translator
        self.settlement = Settlement(request: request, record: record, settle: settle)
    }

    /// Settles the request if the relay is dropped without running (the client went away
    /// before the response began), so it is not left in flight until the next restart.
    final class Settlement: Sendable {
        let request: GatewayRequest
        let record: RequestRecord
        let settle: @Sendable (inout RequestRecord) -> Void
        let done = Mutex(false)

        init(request: GatewayRequest, record: RequestRecord, settle: @escaping @Sendable (inout RequestRecord) -> Void) {
            self.request = request
            self.record = record
            self.settle = settle
        }

        /// Returns true the first time only.
        func claim() -> Bool {
            done.withLock { done in
                defer { done = true }
                return !done
            }
        }

        deinit {
            guard claim() else { return }
            var record = record
            record.status = .cut
            record.usage = Usage(input: record.inputEstimate)
            record.usageEstimated = true
            record.error = "the client went away before the stream began"
            settle(&record)
        }
    }

    /// Sends the stream through `send`, then calls `ended` (the server ends the answer
    /// there, so the client is not kept waiting for the settlement). Throws when the client
    /// goes away; the request is settled in every case.
    public func relay(_ send: (ByteBuffer) async throws -> Void, ended: () async -> Void = {}) async throws {
        let request = settlement.request
        var record = settlement.record
        var meter = UsageMeter(api: upstreamAPI)
        var translator = translator
        // A filtered stream passes whole events only, so a hidden event is never half sent.
        let filtered = hideUsageChunk || translator != nil
        var decoder = SSEDecoder()
        var firstTokenAt: ContinuousClock.Instant?
        var clientGone = false
        var upstreamCut = false
        do {
            for try await chunk in body {
                var out = ByteBuffer()
                for event in chunk.withUnsafeReadableBytes({ decoder.feed($0) }) {
                    let usageOnly = meter.observe(event: event)
                    if let bytes = translator?.translate(event) {
                        out.writeBytes(bytes)
                    } else if hideUsageChunk && !usageOnly {
                        out.writeBytes(event.raw)
                    }
                }
                if firstTokenAt == nil, meter.sawFirstToken { firstTokenAt = .now }
                // Unfiltered streams pass chunk by chunk as they arrive.
                let outgoing = filtered ? out : chunk
                if outgoing.readableBytes > 0 {
                    do { try await send(outgoing) } catch {
                        clientGone = true
                        break
                    }
                }
            }
            if hideUsageChunk, !clientGone, decoder.pendingBytes > 0 {
                // Bytes after the last complete event (a stream without a final blank line).
                do { try await send(ByteBuffer(bytes: decoder.takePending())) } catch { clientGone = true }
            }
        } catch {
            upstreamCut = true
        }

        if let firstTokenAt { record.timeToFirstTokenMs = (firstTokenAt - request.receivedAt).milliseconds }
        record.httpStatus = 200
        if let streamError = meter.streamError {
            record.status = .failed
            record.error = "upstream error in stream: " + String(streamError.prefix(200))
        }
        if meter.hasFinalUsage && meter.finished {
            record.usage = meter.usage ?? .zero
        } else if meter.finished, let implausible = meter.implausibleUsage {
            // A whole stream whose usage cannot be believed: estimated, not cut.
            record.usage = meter.estimatedUsage(inputEstimate: record.inputEstimate)
            record.usageEstimated = true
            if record.status == .completed { record.error = RequestRecord.implausibleUsageError(implausible) }
        } else {
            record.usage = meter.estimatedUsage(inputEstimate: record.inputEstimate)
            record.usageEstimated = true
            if meter.usage == nil, let bound = unseenReasoningBound, bound > record.usage.output {
                record.usage.reasoning = bound - record.usage.output
                record.usage.output = bound
            }
            if record.status == .completed {
                record.status = .cut
                record.error =
                    clientGone
                    ? "the client closed the stream early"
                    : upstreamCut ? "the provider's stream was cut" : "the provider's stream ended without its final event"
            }
        }
        var incomplete = upstreamCut
        if !upstreamCut, !clientGone, translator != nil {
            // A carried stream is closed in the client's format, or reported incomplete.
            if let closing = translator?.finish() {
                if !closing.isEmpty { try? await send(ByteBuffer(bytes: closing)) }
            } else {
                incomplete = true
            }
        }
        if incomplete && !clientGone {
            // Tell the client in its own stream format that the answer is incomplete.
            let notice = ErrorBody.streamEvent(
                api: request.api, message: "The provider's stream was cut before it finished. The partial answer was metered; retry the request.")
            try? await send(ByteBuffer(bytes: notice))
        }
        if !clientGone { await ended() }
        guard settlement.claim() else { return }
        record.noteResponse(meter)
        settlement.settle(&record)
        if clientGone { throw CancellationError() }
    }
}
