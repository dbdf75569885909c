import Foundation

/// One stored field of a `RequestRecord`: its column in the ledger's `requests` table and its
/// key in the crash journal's JSON. `RequestRecord.visitColumns` lists them all, once; the
/// SQLite binding, the insert statement, the row decoding and the journal encoding are all
/// driven by that one list, so a new column is added in one place.
public struct RecordColumn: Sendable {
    /// Where the field sits in the journal's JSON (the synthesized `Codable` shape).
    public enum Group: Sendable, Equatable {
        /// A member of the record object itself.
        case record
        /// A member of its nested `attribution` object.
        case attribution
        /// A member of its nested `usage` object.
        case usage
    }

    // Static text, not `String`: a column is made for every field of every record written,
    // and a `String` member would be retained and released each time.
    /// The column's name in the `requests` table.
    public let name: StaticString
    /// The member's key in the journal (the Swift property's name).
    public let key: StaticString
    public let group: Group
    /// What the table stores instead of NULL, and reads back as nil (the service tier keeps
    /// `standard` there, so reports group on it without a `COALESCE`).
    public let storedForNil: StaticString?

    @inlinable
    public init(_ name: StaticString, _ key: StaticString, in group: Group = .record, storedForNil: StaticString? = nil) {
        self.name = name
        self.key = key
        self.group = group
        self.storedForNil = storedForNil
    }
}

/// Reads or writes a record's fields one column at a time. A writer (the SQLite binder, the
/// journal encoder) reads each value and leaves it be; a reader (a table row) replaces it.
/// Every field comes as one of four kinds; the record maps its own types onto them.
public protocol RecordColumnVisitor {
    mutating func text(_ column: RecordColumn, _ value: inout String?)
    mutating func integer(_ column: RecordColumn, _ value: inout Int64?)
    mutating func flag(_ column: RecordColumn, _ value: inout Bool)
    /// A time, kept as milliseconds since 1970 by both the table and the journal.
    mutating func time(_ column: RecordColumn, _ value: inout Date?)
}

extension RequestRecord {
    /// Every stored field, in the table's insert order (attribution and usage fields stay
    /// together: the journal nests each group in an object of its own).
    @inlinable
    public mutating func visitColumns<Visitor: RecordColumnVisitor>(_ v: inout Visitor) {
        v.text(RecordColumn("id", "id"), required: &id)
        v.time(RecordColumn("started_at", "startedAt"), required: &startedAt)
        v.time(RecordColumn("ended_at", "endedAt"), &endedAt)
        v.text(RecordColumn("api", "api"), required: &api)
        v.flag(RecordColumn("stream", "stream"), &stream)
        v.choice(RecordColumn("status", "status"), &status, otherwise: .failed)
        v.integer(RecordColumn("http_status", "httpStatus"), small: &httpStatus)
        v.text(RecordColumn("key_id", "keyID", in: .attribution), &attribution.keyID)
        v.text(RecordColumn("organization", "organization", in: .attribution), &attribution.organization)
        v.text(RecordColumn("team", "team", in: .attribution), &attribution.team)
        v.text(RecordColumn("member", "member", in: .attribution), &attribution.member)
        v.text(RecordColumn("service", "service", in: .attribution), &attribution.service)
        v.choice(RecordColumn("environment", "environment", in: .attribution), &attribution.environment, otherwise: .production)
        v.text(RecordColumn("workflow", "workflow", in: .attribution), &attribution.workflow)
        v.text(RecordColumn("run", "run", in: .attribution), &attribution.run)
        v.text(RecordColumn("parent_run", "parentRun", in: .attribution), &attribution.parentRun)
        v.text(RecordColumn("process", "process", in: .attribution), &attribution.process)
        v.text(RecordColumn("end_user", "endUser", in: .attribution), &attribution.endUser)
        v.text(RecordColumn("trace_id", "traceID", in: .attribution), &attribution.traceID)
        v.text(RecordColumn("requested_model", "requestedModel"), required: &requestedModel)
        v.text(RecordColumn("served_model", "servedModel"), &servedModel)
        v.text(RecordColumn("provider", "provider"), &provider)
        v.text(RecordColumn("upstream_request_id", "upstreamRequestID"), &upstreamRequestID)
        v.integer(RecordColumn("latency_ms", "latencyMs"), &latencyMs)
        v.integer(RecordColumn("ttft_ms", "timeToFirstTokenMs"), &timeToFirstTokenMs)
        v.integer(RecordColumn("input_tokens", "input", in: .usage), required: &usage.input)
        v.integer(RecordColumn("output_tokens", "output", in: .usage), required: &usage.output)
        v.integer(RecordColumn("cache_read_tokens", "cacheRead", in: .usage), required: &usage.cacheRead)
        v.integer(RecordColumn("cache_write_5m_tokens", "cacheWrite5m", in: .usage), required: &usage.cacheWrite5m)
        v.integer(RecordColumn("cache_write_1h_tokens", "cacheWrite1h", in: .usage), required: &usage.cacheWrite1h)
        v.integer(RecordColumn("reasoning_tokens", "reasoning", in: .usage), required: &usage.reasoning)
        v.flag(RecordColumn("usage_estimated", "usageEstimated"), &usageEstimated)
        var nano = cost?.value
        v.integer(RecordColumn("cost_nano", "cost"), &nano)
        cost = nano.map(NanoUSD.init)
        v.text(RecordColumn("error", "error"), &error)
        v.integer(RecordColumn("input_estimate", "inputEstimate"), required: &inputEstimate)
        var tier = serviceTier?.rawValue
        v.text(RecordColumn("service_tier", "serviceTier", storedForNil: "standard"), &tier)
        serviceTier = tier.flatMap(ServiceTier.init)
        v.integer(RecordColumn("output_cap", "outputCap"), &outputCap)
        v.text(RecordColumn("downgraded_by", "downgradedBy"), &downgradedBy)
        v.text(RecordColumn("grant_id", "grantID"), &grantID)
        v.text(RecordColumn("route", "route"), &route)
        v.text(RecordColumn("failed_attempts", "failedAttempts"), &failedAttempts)
        v.text(RecordColumn("routing_rule", "routingRule"), &routingRule)
        v.text(RecordColumn("task_class", "taskClass"), &taskClass)
        v.text(RecordColumn("auto_tier", "autoTier"), &autoTier)
        v.text(RecordColumn("routing_reason", "routingReason"), &routingReason)
        v.text(RecordColumn("baseline_model", "baselineModel"), &baselineModel)
        v.text(RecordColumn("source", "source"), &source)
        v.text(RecordColumn("turn", "turn"), &turn)
    }

    /// A record with every field empty, for a reader to fill in.
    public static var blank: RequestRecord {
        RequestRecord(
            id: "", startedAt: Date(timeIntervalSince1970: 0), api: "", stream: false, status: .failed,
            attribution: Attribution(environment: .production), requestedModel: ""
        )
    }

    /// Every stored column, in `visitColumns` order.
    public static let columns: [RecordColumn] = {
        var collector = ColumnCollector()
        var record = RequestRecord.blank
        record.visitColumns(&collector)
        return collector.columns
    }()

    private struct ColumnCollector: RecordColumnVisitor {
        var columns: [RecordColumn] = []
        mutating func text(_ column: RecordColumn, _ value: inout String?) { columns.append(column) }
        mutating func integer(_ column: RecordColumn, _ value: inout Int64?) { columns.append(column) }
        mutating func flag(_ column: RecordColumn, _ value: inout Bool) { columns.append(column) }
        mutating func time(_ column: RecordColumn, _ value: inout Date?) { columns.append(column) }
    }
}

/// The record's own types mapped onto the visitor's four kinds. A value a reader finds
/// missing (NULL where the field is required) becomes the field's empty value.
extension RecordColumnVisitor {
    @inlinable
    public mutating func text(_ column: RecordColumn, required value: inout String) {
        var optional: String? = value
        text(column, &optional)
        value = optional ?? ""
    }

    @inlinable
    public mutating func integer(_ column: RecordColumn, required value: inout Int64) {
        var optional: Int64? = value
        integer(column, &optional)
        value = optional ?? 0
    }

    @inlinable
    public mutating func integer(_ column: RecordColumn, small value: inout Int?) {
        var wide = value.map(Int64.init)
        integer(column, &wide)
        value = wide.map { Int(truncatingIfNeeded: $0) }
    }

    @inlinable
    public mutating func time(_ column: RecordColumn, required value: inout Date) {
        var optional: Date? = value
        time(column, &optional)
        value = optional ?? Date(timeIntervalSince1970: 0)
    }

    /// An enumeration stored as its raw text; one a reader does not know becomes `fallback`.
    @inlinable
    public mutating func choice<Choice: RawRepresentable>(_ column: RecordColumn, _ value: inout Choice, otherwise fallback: Choice)
    where Choice.RawValue == String {
        var raw: String? = value.rawValue
        text(column, &raw)
        value = raw.flatMap(Choice.init) ?? fallback
    }
}
