import Foundation
import StratesCore
import StratesGateway

// What Strates records and works out (outcomes, feedback, route events, runaway flags, grant
// statements, reserve standings, the routing table) as the admin API, the CLI's
// `--format json` and the webhooks show them.

extension Outcome: APIRepresentable {
    public func encodeFields(_ fields: inout APIFields) throws {
        try fields.put("id", id)
        try fields.put("at", time: at)
        try fields.put("run", run)
        try fields.put("kind", kind.rawValue)
        try fields.put("ref", ref)
        try fields.put("quantity", quantity)
        try fields.put("value_usd", dollars: value)
        try fields.put("inferred", inferred)
        try fields.put("source", source)
    }
}

extension Feedback: APIRepresentable {
    public func encodeFields(_ fields: inout APIFields) throws {
        try fields.put("id", id)
        try fields.put("at", time: at)
        try fields.put("request_id", requestID)
        try fields.put("run", run)
        try fields.put("score", score)
        try fields.put("source", source)
        try fields.put("comment", comment)
    }
}

extension RouteEvent: APIRepresentable {
    public func encodeFields(_ fields: inout APIFields) throws {
        try fields.put("at", time: at)
        try fields.put("route", route)
        try fields.put("deployment", deployment)
        try fields.put("event", kind.rawValue)
        try fields.put("detail", detail)
    }
}

extension RunawayFlag: APIRepresentable {
    public func encodeFields(_ fields: inout APIFields) throws {
        try fields.put("at", time: at)
        try fields.put("run", run)
        try fields.put("team", team)
        try fields.put("reason", reason.rawValue)
        try fields.put("calls", calls)
        try fields.put("spend_usd", dollars: cost)
        try fields.put("stopped", stopped)
    }
}

extension GrantStatement: APIRepresentable {
    public func encodeFields(_ fields: inout APIFields) throws {
        let current = self.current
        try fields.put("grant", grant.id)
        try fields.put("name", grant.name)
        try fields.put("member", grant.member)
        try fields.put("purpose", grant.purpose)
        try fields.put("unit", grant.unit.rawValue)
        try fields.put("state", state.rawValue)
        try fields.put("at", time: at)
        try fields.put("period_start", time: current?.window.start)
        try fields.put("period_end", time: current?.window.end)
        try fields.put("available", grant.amount(current?.available ?? 0))
        try fields.put("used", grant.amount(current?.used ?? 0))
        try fields.put("reserved", grant.amount(reserved))
        try fields.put("balance", grant.amount(balance))
        try fields.put("used_total", grant.amount(usedTotal))
        try fields.put("lapsed_total", grant.amount(lapsedTotal))
        try fields.put("expiring", object: expiring.map { GrantExpiry(amount: grant.amount($0.amount), at: $0.at) })
    }
}

struct GrantExpiry: APIRepresentable {
    var amount: UnitAmount
    var at: Date

    func encodeFields(_ fields: inout APIFields) throws {
        try fields.put("amount", amount)
        try fields.put("at", time: at)
    }
}

/// A grant moved to another member: the giver's grant and the one the receiver got.
struct GrantTransferBody: APIRepresentable {
    var source: Grant
    var received: Grant

    func encodeFields(_ fields: inout APIFields) throws {
        try fields.put("object", "grant.transfer")
        try fields.put("from", object: source)
        try fields.put("to", object: received)
    }
}

extension ReserveStanding: APIRepresentable {
    public func encodeFields(_ fields: inout APIFields) throws {
        let spend = if case .spend = reserve.capacity { true } else { false }
        func amount(_ value: Int64) -> UnitAmount { UnitAmount(unit: spend ? .usd : .tokens, amount: value) }
        try fields.put("reserve", reserve.name)
        try fields.put("id", reserve.id)
        try fields.put("scope", reserve.scope.text)
        try fields.put("capacity", amount(capacity))
        try fields.put("used", amount(used))
        try fields.put("reserved", amount(reserved))
        try fields.put("used_percent", (usedPercent * 10).rounded() / 10)
        try fields.put("production_share", reserve.productionShare)
        try fields.put("sandbox_until", reserve.sandboxUntil)
        try fields.put("personal_until", reserve.personalUntil)
        try fields.put("open_to", open.map(\.rawValue))
        try fields.put("resets_at", time: resets)
    }
}

/// A webhook's JSON payload: `{"type", "text", <key>: the flag or event}`.
struct NoticeBody<Detail: APIRepresentable>: APIRepresentable {
    var type: String
    var text: String
    var key: String
    var detail: Detail

    func encodeFields(_ fields: inout APIFields) throws {
        try fields.put("type", type)
        try fields.put("text", text)
        try fields.put(key, object: detail)
    }
}
