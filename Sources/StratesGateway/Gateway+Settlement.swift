import Foundation
import Logging
import StratesCore
import StratesWire

extension Gateway {
    /// Gives back what the controls hold for a finished (or refused) request: its rate-limit
    /// slot at once, its reserve, grant and budget holds settled to what it used.
    func releaseControls(_ record: RequestRecord, executor: (any TaskExecutor)?) {
        for control in admissionOrder { control.release(record, executor: executor) }
    }

    /// Prices the record, finishes it in the ledger, releases its controls, watches its run,
    /// and emits its metrics and log line.
    func settle(_ record: inout RequestRecord, request: GatewayRequest, logger: Logger) {
        close(&record, request: request, logger: logger)
        conclude(record, request: request, logger: logger)
    }

    /// Ends the record: its end time, latency and cost, and the journal's end line, which is
    /// what a `kill -9` cannot take back.
    func close(_ record: inout RequestRecord, request: GatewayRequest, logger: Logger) {
        let elapsed = ContinuousClock.now - request.receivedAt
        record.endedAt = Date()
        record.latencyMs = elapsed.milliseconds
        record.cost = record.status == .rejected ? NanoUSD.zero : pricing.cost(of: record)
        do {
            try ledger.finish(record)
        } catch {
            logger.error("ledger journal write failed", metadata: ["error": "\(error)"])
        }
    }

    /// What follows a closed record: its controls given back, its run watched, its metrics
    /// and log line.
    func conclude(_ record: RequestRecord, request: GatewayRequest, logger: Logger) {
        releaseControls(record, executor: request.executor)
        if let runs = controls.runs, record.attribution.run != nil {
            for flag in runs.observe(record, body: request.body) { notices?.deliver(.runaway(flag, runs.policy)) }
        }
        if let api = APIKind(rawValue: record.api) { metrics.recordRequest(record, api: api) }
        // Built only when the level lets the line out (the argument is an autoclosure).
        switch record.status {
        case .completed, .rejected: logger.debug("request", metadata: record.logMetadata)
        case .failed, .cut, .interrupted: logger.notice("request \(record.status.rawValue): \(record.error ?? "")", metadata: record.logMetadata)
        }
    }
}
