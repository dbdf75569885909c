import Foundation
import StratesCore
import StratesLedger
import StratesWire
import Synchronization

/// Grants on the request path: a member's usage in the `personal` environment draws from
/// their grants. Each request reserves its estimate against one grant — the one whose
/// money lapses soonest that can cover it — and settles to what it used; the ledger records
/// which grant paid (`grant_id`). A member with grants whose grants cannot cover a request
/// is refused; a member without any grant is not governed by grants.
///
/// Like budget counters, the live state is per process (one gateway over SQLite is the
/// database's only writer); it is counted from the ledger when a period is first used.
public final class GrantGuard: Sendable {
    /// One grant's current period: what it makes available, what settled, what is held.
    struct Account {
        var windowStart: Date
        var windowEnd: Date?
        /// The grant definition the availability was computed from.
        var definedAt: Date
        var available: Int64
        var used: Int64
        var reserved: Int64 = 0
        var holds = 0
        var fundsExpiry: Date?

        /// What a request may still take: available, less what settled and what is held.
        var left: Int64 { available.saturatingSubtract(used).saturatingSubtract(reserved) }
    }

    struct Hold {
        var grantID: String
        var windowStart: Date
        var unit: BudgetUnit
        var amount: Int64
    }

    struct State {
        var accounts: [String: Account] = [:]
        var holds: [String: Hold] = [:]
    }

    public let rules = RuleIndex<Grant>()
    let store: any GrantStore
    let beforeCounting: @Sendable () async -> Void
    let state = Mutex(State())
    /// One transfer at a time, so two cannot both give the same balance.
    let transfers = AsyncLock()

    public init(store: any GrantStore, beforeCounting: @escaping @Sendable () async -> Void = {}) {
        self.store = store
        self.beforeCounting = beforeCounting
    }

    public func reload() async throws {
        rules.replace(with: try await store.rules(Grant.self))
    }

    /// The member's grants, when this request draws on grants at all.
    func grants(for attribution: Attribution) -> [Grant] {
        guard attribution.environment == .personal, let member = attribution.member else { return [] }
        return rules.covering(attribution).filter { $0.member == member }
    }

    /// Reserves the request's estimate against one of the member's grants and returns its
    /// id; nil when grants do not govern the request. Throws the refusal in the caller's terms.
    func admit(_ record: RequestRecord, demand estimate: Demand) async throws(GatewayError) -> String? {
        let grants = grants(for: record.attribution)
        guard estimate.api != .countTokens, !grants.isEmpty else { return nil }
        let date = record.startedAt
        do {
            try await count(grants, at: date)
        } catch {
            throw GatewayError(
                status: 503, message: "Strates could not check the grants for this request (ledger unavailable). Try again shortly.", code: "grant_unavailable")
        }
        let demand = estimate.spend
        let outcome: Result<String, GrantRefusal> = state.withLock { state in
            var candidates: [(grant: Grant, account: Account)] = grants.compactMap { grant in
                guard let account = state.accounts[grant.id], account.windowStart <= date, account.windowEnd.map({ date < $0 }) ?? true else { return nil }
                return (grant, account)
            }
            candidates.sort { ($0.account.fundsExpiry ?? .distantFuture, $0.grant.createdAt) < ($1.account.fundsExpiry ?? .distantFuture, $1.grant.createdAt) }
            for (grant, account) in candidates {
                guard let need = demand.amount(grant.unit, outputTokens: demand.outputTokens), need <= account.left else { continue }
                state.accounts[grant.id]?.reserved = account.reserved.saturatingAdd(need)
                state.accounts[grant.id]?.holds += 1
                state.holds[record.id] = Hold(grantID: grant.id, windowStart: account.windowStart, unit: grant.unit, amount: need)
                return .success(grant.id)
            }
            return .failure(
                GrantRefusal(
                    member: record.attribution.member ?? "",
                    standings: candidates.map { ($0.grant, $0.account.left, $0.account.windowEnd) },
                    needs: grants.map { ($0, demand.amount($0.unit, outputTokens: demand.outputTokens)) }
                ))
        }
        switch outcome {
        case .success(let id): return id
        case .failure(let refusal): throw refusal.error
        }
    }

    /// Replaces the request's hold by what it really used.
    func settle(_ record: RequestRecord) {
        state.withLock { state in
            guard let hold = state.holds.removeValue(forKey: record.id), var account = state.accounts[hold.grantID] else { return }
            guard account.windowStart == hold.windowStart else { return }
            account.reserved = max(0, account.reserved.saturatingSubtract(hold.amount))
            account.holds -= 1
            if record.status != .rejected {
                account.used = account.used.saturatingAdd(hold.unit == .usd ? (record.cost?.value ?? 0) : record.usage.total)
            }
            state.accounts[hold.grantID] = account
        }
    }

    /// Moves `amount` of the grant's balance (less what requests in flight hold) to `member`,
    /// saving both grants in one transaction. Throws `RuleProblems` when it cannot be made.
    public func transfer(_ grantID: String, to member: String, amount: Int64, note: String?, now: Date = Date()) async throws -> (
        source: Grant, received: Grant
    ) {
        try await transfers.withLock {
            guard let grant = try await store.rules(Grant.self).first(where: { $0.id == grantID }),
                let statement = try await statements(of: [grant], at: now).first
            else { throw RuleProblems(["the grant no longer exists"]) }
            let made = try GrantTransfer.make(from: statement, to: member, amount: amount, note: note, id: "grant_" + KeySecrets.randomHex(8), now: now)
            try await store.save(rules: [made.source, made.received])
            try await reload()
            return made
        }
    }

    /// Where the grants stand now, with what requests in flight hold.
    public func statements(of grants: [Grant], at date: Date = Date()) async throws -> [GrantStatement] {
        await beforeCounting()
        var statements: [GrantStatement] = []
        for grant in grants {
            var statement = try await store.statement(of: grant, at: date)
            statement.reserved = state.withLock { state in
                guard let account = state.accounts[grant.id], statement.current?.window.start == account.windowStart else { return 0 }
                return account.reserved
            }
            statements.append(statement)
        }
        return statements
    }

    /// Counts, from the ledger, the accounts of grants whose period or definition changed
    /// since this process last counted them.
    func count(_ grants: [Grant], at date: Date) async throws {
        let stale = state.withLock { state in
            grants.filter { grant in
                guard let account = state.accounts[grant.id] else { return true }
                return account.definedAt != grant.updatedAt || account.windowEnd.map { $0 <= date } ?? false
            }
        }
        guard !stale.isEmpty else { return }
        await beforeCounting()
        for grant in stale {
            let statement = try await store.statement(of: grant, at: date)
            state.withLock { state in
                guard let current = statement.current else {
                    // Pending or expired: nothing to draw on, but remember that to avoid recounting.
                    // A pending grant is counted again when it starts.
                    if state.accounts[grant.id]?.holds ?? 0 == 0 {
                        let recount = statement.state == .pending ? grant.startsAt : nil
                        state.accounts[grant.id] = Account(windowStart: .distantFuture, windowEnd: recount, definedAt: grant.updatedAt, available: 0, used: 0)
                    }
                    return
                }
                var account = Account(
                    windowStart: current.window.start, windowEnd: current.window.end, definedAt: grant.updatedAt,
                    available: current.available, used: current.used, fundsExpiry: statement.fundsExpiry
                )
                if let old = state.accounts[grant.id], old.windowStart == account.windowStart {
                    // Same period, changed definition: keep what is in flight, and what settled
                    // since (the ledger may not have it yet).
                    account.reserved = old.reserved
                    account.holds = old.holds
                    account.used = max(account.used, old.used)
                }
                state.accounts[grant.id] = account
            }
        }
    }
}

/// Why no grant could pay for a request, with what the message needs.
struct GrantRefusal: Error {
    var member: String
    var standings: [(grant: Grant, left: Int64, resets: Date?)]
    var needs: [(grant: Grant, need: Int64?)]

    var error: GatewayError {
        let message: String
        if standings.isEmpty {
            let names = needs.map { "'\($0.grant.name)'" }.joined(separator: ", ")
            message =
                "Personal use by member '\(member)' draws from their grants, and none is active now (\(names): not started or expired). Ask an admin for a grant, or use a team key outside the personal environment."
        } else {
            let parts = standings.map { standing -> String in
                let need = needs.first { $0.grant.id == standing.grant.id }?.need
                let resets = standing.resets.map { ", renews \(BudgetText.timestamp($0))" } ?? ""
                let needText = need.map { standing.grant.format($0) } ?? "an unknown amount (the model has no known price)"
                return "'\(standing.grant.name)' has \(standing.grant.format(max(0, standing.left))) left\(resets), this request may use up to \(needText)"
            }
            message =
                "Personal use by member '\(member)' draws from their grants, and none can cover this request: \(parts.joined(separator: "; ")). Lower max_tokens, wait for the grant to renew, or ask a colleague or an admin for a transfer ('strates grants transfer')."
        }
        var error = GatewayError(status: 429, message: message, code: "grant_exhausted")
        error.headers = [("x-should-retry", "false")]
        if let first = standings.first { error.headers.append(("x-strates-grant", first.grant.name)) }
        return error
    }
}
