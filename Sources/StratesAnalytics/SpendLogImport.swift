import Foundation
import StratesCore
import StratesGateway
import StratesLedger

/// `strates import litellm FILE`: LiteLLM's spend logs into the ledger. Each row is one call,
/// its id from LiteLLM's request id, so importing twice adds nothing. Calls are priced from
/// Strates' catalog; a model it has no price for keeps the spend LiteLLM recorded.
public struct SpendLogImport {
    public var attribution: Attribution
    public var pricing: Pricing

    /// Kept on a record whose cost is LiteLLM's, not the catalog's.
    public static let pricedByLiteLLM = "cost from LiteLLM's spend log (no price in Strates' catalog)"

    public init(attribution: Attribution, pricing: Pricing) {
        self.attribution = attribution
        self.pricing = pricing
    }

    public struct Summary: Sendable, Equatable {
        public var rows = 0
        public var calls = 0
        public var skipped = 0
        public var problems: [String] = []
        public var added = 0
        public var updated = 0
        /// Calls whose model Strates has no price for: LiteLLM's own spend is kept.
        public var pricedByLiteLLM = 0
        public var usage = Usage()
        public var cost = NanoUSD.zero

    }

    public func run(_ bytes: [UInt8], store: any ImportStore) async throws -> Summary {
        guard let rows = LiteLLMSpendRow.rows(bytes), rows.isEmpty || rows.contains(where: { $0["request_id"] != nil }) else {
            throw ImportError(
                "not a LiteLLM spend-log export: expected a JSON list of spend logs (GET /spend/logs), JSON lines, or a CSV with a request_id column")
        }
        var summary = Summary(rows: rows.count)
        var records: [RequestRecord] = []
        for (index, row) in rows.enumerated() {
            switch LiteLLMSpendRow.read(row) {
            case .failure(let problem):
                summary.skipped += 1
                if summary.problems.count < 10 { summary.problems.append("row \(index + 1): \(problem.reason)") }
            case .success(let call):
                var who = attribution
                who.team = call.team ?? who.team
                who.member = call.user ?? who.member
                who.endUser = call.endUser
                who.run = call.session
                var record = RequestRecord(
                    id: "imp_ll_" + KeySecrets.hash(call.requestID).prefix(24), startedAt: call.startedAt, endedAt: call.endedAt ?? call.startedAt,
                    api: call.api, stream: false, status: call.failed ? .failed : .completed, httpStatus: call.failed ? nil : 200, attribution: who,
                    requestedModel: call.modelGroup ?? call.model, servedModel: call.model, provider: call.provider ?? "litellm",
                    upstreamRequestID: call.requestID, usage: call.usage, inputEstimate: call.usage.totalInput, source: "litellm"
                )
                record.cost = pricing.cost(of: record)
                if record.cost == nil, let spend = call.spend {
                    record.cost = spend
                    record.error = Self.pricedByLiteLLM
                }
                records.append(record)
            }
        }
        // One row per request id: a repeated row in the export counts once.
        let unique = Dictionary(records.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first }).values.sorted { $0.startedAt < $1.startedAt }
        summary.calls = unique.count
        for record in unique {
            summary.usage = summary.usage + record.usage
            summary.cost = summary.cost + (record.cost ?? .zero)
            if record.error == Self.pricedByLiteLLM { summary.pricedByLiteLLM += 1 }
        }
        (summary.added, summary.updated) = try await store.importRecords(unique, batch: 5_000)
        return summary
    }
}
