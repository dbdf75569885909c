import Foundation
import StratesCore
import StratesGateway
import StratesLedger
import StratesWire

/// `strates import usage-export FILE`: a provider's own usage export (Anthropic's messages
/// usage report, OpenAI's completions usage) into the ledger, for the traffic that never
/// went through the gateway.
///
/// Each result of the export (a time bucket and a group: model, API key, workspace or
/// project, …) becomes one ledger row, identified by the provider, the bucket and the
/// group, so importing the same export twice adds nothing and a later export of a day that
/// was still running updates its rows. Rows are priced from Strates' catalog.
///
/// A day on which the ledger already holds calls to the same provider from elsewhere (the
/// gateway, another import) is skipped unless asked: the export counts that traffic too,
/// and importing it would count it twice. Comparing such days is `strates reconcile`'s job.
public struct UsageExportImport {
    /// The provider as the ledger names it.
    public var provider: String
    public var attribution: Attribution
    /// The team for the results of each provider API key (`api_key_id`), when grouped by key.
    public var teamsByKey: [String: String]
    /// Import days the ledger already has calls to the provider for.
    public var includeMeteredDays: Bool
    public var pricing: Pricing

    public init(provider: String, attribution: Attribution, teamsByKey: [String: String] = [:], includeMeteredDays: Bool = false, pricing: Pricing) {
        self.provider = provider
        self.attribution = attribution
        self.teamsByKey = teamsByKey
        self.includeMeteredDays = includeMeteredDays
        self.pricing = pricing
    }

    public struct Summary: Sendable, Equatable {
        public var kind = ""
        /// Results in the export.
        public var results = 0
        /// Results with no tokens at all: nothing to import.
        public var empty = 0
        /// Days left out because the ledger already has calls to the provider on them.
        public var skippedDays: [Date] = []
        public var skippedResults = 0
        /// Ledger rows the import stands for (one per result imported).
        public var rows = 0
        public var added = 0
        public var updated = 0
        /// The provider's own count of requests behind the rows, when the export gives one.
        public var requests: Int64?
        /// Rows whose model Strates has no price for (or the export did not group by model).
        public var unpriced = 0
        public var usage = Usage()
        public var cost = NanoUSD.zero
        public var first: Date?
        public var last: Date?
        /// Keys given a team (`teamsByKey`) that no result of the export names.
        public var unseenKeys: [String] = []

    }

    public func run(_ bytes: [UInt8], store: any ImportStore) async throws -> Summary {
        try await run(files: [(name: "", bytes: bytes)], store: store)
    }

    /// Imports several saved exports as one (pages saved to a file each, say). They must be
    /// of one kind; a result given in two of them counts once.
    public func run(files: [(name: String, bytes: [UInt8])], store: any ImportStore) async throws -> Summary {
        var kind: ProviderExport.Kind?
        var buckets: [UsageBucket] = []
        for file in files {
            let place = file.name.isEmpty ? "" : "\(file.name): "
            do {
                let read = try ProviderExport.usageBuckets(file.bytes)
                if let kind, kind != read.kind {
                    throw ImportError("\(place)this is an \(read.kind.rawValue), and the files before it an \(kind.rawValue): import one kind at a time")
                }
                kind = read.kind
                buckets += read.buckets
            } catch let error as ProviderExport.Problem {
                throw ImportError(place + error.description)
            }
        }
        guard let kind else { throw ImportError("no export given") }
        let source = kind == .anthropicUsage ? "anthropic-usage-export" : "openai-usage-export"
        var summary = Summary(kind: kind.rawValue, results: buckets.count)
        let withTokens = buckets.filter { $0.usage.total > 0 }
        summary.empty = buckets.count - withTokens.count
        var metered = Set<Date>()
        if !includeMeteredDays, let first = withTokens.map(\.start).min(), let last = withTokens.map(\.start).max() {
            metered = try await store.days(
                withCallsTo: provider, from: ProviderExport.day(containing: first),
                to: ProviderExport.day(containing: last).addingTimeInterval(86_400), notFrom: source
            )
        }
        var records: [String: RequestRecord] = [:]
        for bucket in withTokens {
            guard !metered.contains(ProviderExport.day(containing: bucket.start)) else {
                summary.skippedResults += 1
                continue
            }
            let record = self.record(for: bucket, kind: kind, source: source)
            // A result given twice (overlapping pages) counts once.
            guard records[record.id] == nil else { continue }
            records[record.id] = record
            if let requests = bucket.requests { summary.requests = (summary.requests ?? 0) + requests }
        }
        summary.skippedDays = metered.sorted()
        let seenKeys = Set(buckets.compactMap { $0.groups["api_key_id"] })
        summary.unseenKeys = teamsByKey.keys.filter { !seenKeys.contains($0) }.sorted()
        let rows = records.values.sorted { ($0.startedAt, $0.id) < ($1.startedAt, $1.id) }
        summary.rows = rows.count
        summary.first = rows.first?.startedAt
        summary.last = rows.last?.startedAt
        for record in rows {
            summary.usage = summary.usage + record.usage
            if let cost = record.cost { summary.cost = summary.cost + cost } else { summary.unpriced += 1 }
        }
        (summary.added, summary.updated) = try await store.importRecords(rows, batch: 5_000)
        return summary
    }

    /// The ledger row of one result: one row stands for all the bucket's calls in that group.
    func record(for bucket: UsageBucket, kind: ProviderExport.Kind, source: String) -> RequestRecord {
        var who = attribution
        if let key = bucket.groups["api_key_id"], let team = teamsByKey[key] { who.team = team }
        who.service = bucket.groups["workspace_id"] ?? bucket.groups["project_id"] ?? who.service
        who.endUser = bucket.groups["user_id"] ?? bucket.groups["account_id"] ?? who.endUser
        let model = bucket.model ?? "unknown"
        let api: APIKind = kind == .anthropicUsage ? .messages : .chatCompletions
        // Priced at the tier the export names: batch (OpenAI's `batch` group, Anthropic's
        // `service_tier`), priority, or standard.
        var tier = bucket.groups["service_tier"].map { ServiceTier(reported: $0) }
        if bucket.groups["batch"] == "true" { tier = .batch }
        var record = RequestRecord(
            id: "imp_ux_" + KeySecrets.hash("\(provider)|\(kind.rawValue)|\(bucket.identity)").prefix(24),
            startedAt: bucket.start, endedAt: bucket.end ?? bucket.start, api: api.rawValue, stream: false, status: .completed,
            httpStatus: 200, attribution: who, requestedModel: model, servedModel: model, provider: provider,
            usage: bucket.usage, inputEstimate: bucket.usage.totalInput, serviceTier: tier, source: source
        )
        // A row sums many requests, so whether they were long-context is the export's own
        // `context_window` group (Anthropic's "200k-1M"), never the row's summed input.
        if bucket.model != nil {
            record.cost = pricing.cost(of: record, longContext: bucket.groups["context_window"].map { $0.hasPrefix("200k") } ?? false)
        }
        return record
    }
}
