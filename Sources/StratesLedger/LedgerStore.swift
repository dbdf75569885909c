import Foundation
import StratesCore

/// The request ledger: append-only, one row per request id.
/// Implementations must make `insert` idempotent: a record whose id is already stored is
/// ignored, so replaying a journal after a crash never counts a request twice.
public protocol RequestStore: Sendable {
    func insert(_ records: [RequestRecord]) async throws
    func usage(_ query: UsageQuery) async throws -> [UsageRow]
    func request(id: String) async throws -> RequestRecord?
    func requestCount() async throws -> Int
    func requestIDs() async throws -> Set<String>
    /// The organization's requests in `environment` that started in [from, to), except those
    /// refused before the upstream (they used nothing), oldest first.
    func requests(organization: String, environment: Environment, from: Date, to: Date) async throws -> [RequestRecord]
}

/// Virtual keys; only hashes are stored.
public protocol KeyStore: Sendable {
    func insert(_ key: APIKey) async throws
    func key(hash: String) async throws -> APIKey?
    func keys(includeRevoked: Bool) async throws -> [APIKey]
    /// Revokes by id or by the key's name; returns how many keys changed.
    func revoke(_ idOrName: String, at date: Date) async throws -> Int
    func keyCount() async throws -> Int
}

/// Prices imported by users, on top of the built-in catalog.
public protocol PriceStore: Sendable {
    func insert(_ prices: [ModelPrice]) async throws
    func prices() async throws -> [ModelPrice]
}

/// Organizations, teams, members and services.
public protocol DirectoryStore: Sendable {
    /// Creates what does not exist yet: the organization, the team, the member (and the
    /// member's membership of the team), the service.
    func ensure(organization: String, team: String?, member: String?, service: String?) async throws
    func teams(organization: String) async throws -> [String]
    func members(organization: String) async throws -> [(member: String, teams: [String])]
}

/// What one scope spent in a span of time, from the request ledger.
public struct ScopeSpend: Sendable, Equatable {
    public var cost: Int64
    public var tokens: Int64

    public init(cost: Int64 = 0, tokens: Int64 = 0) {
        self.cost = cost
        self.tokens = tokens
    }

    public func amount(_ unit: BudgetUnit) -> Int64 { unit == .usd ? cost : tokens }
}

/// Budget definitions, the ledger sums their counters start from, and which alerts went out.
public protocol BudgetStore: Sendable {
    func budgets() async throws -> [Budget]
    /// Inserts or replaces by id. Throws `NameTaken` when another budget has the name.
    func save(_ budget: Budget) async throws
    /// Deletes by id or name; returns whether one existed.
    func deleteBudget(_ idOrName: String) async throws -> Bool
    /// The recorded spend of a scope for requests started in [from, to).
    func spend(scope: BudgetScope, from: Date, to: Date?) async throws -> ScopeSpend
    /// The same, per hour (hours since 1970) — the buckets of a rolling window.
    func hourlySpend(scope: BudgetScope, from: Date, to: Date) async throws -> [Int64: ScopeSpend]
    /// Records that a threshold's alert went out for a window; false when it already had,
    /// so each alert is sent once even across restarts.
    func claimAlert(budgetID: String, windowStart: Date, threshold: Int, at date: Date) async throws -> Bool
}

/// Another rule of the same kind already has this name.
public struct NameTaken: Error, CustomStringConvertible {
    /// "budget", "rate limit", "policy".
    public var noun: String
    public var name: String
    public init(noun: String, name: String) {
        self.noun = noun
        self.name = name
    }
    public var description: String { "a \(noun) named '\(name)' already exists" }
}

/// Rate limits and model access policies: definitions stored whole as JSON, by kind.
public protocol RuleStore: Sendable {
    func rules<Rule: ControlRule>(_ type: Rule.Type) async throws -> [Rule]
    /// Inserts or replaces by id. Throws `NameTaken` when another rule of the kind has the name.
    func save<Rule: ControlRule>(rule: Rule) async throws
    /// Deletes by id or name; returns whether one existed.
    func deleteRule<Rule: ControlRule>(_ type: Rule.Type, _ idOrName: String) async throws -> Bool
}

/// What grants draw on: the recorded usage charged to each.
public protocol GrantStore: RuleStore {
    /// The usage charged to a grant, per quarter-hour since 1970 (`GrantStatement.quarter`).
    func grantUsage(grantID: String) async throws -> [Int64: ScopeSpend]
    /// Saves several rules of one kind in one transaction (a transfer changes two grants).
    func save<Rule: ControlRule>(rules: [Rule]) async throws
}

extension GrantStore {
    /// Where a grant stands at `date`, from the ledger (nothing reserved: only the running
    /// gateway knows what is in flight).
    public func statement(of grant: Grant, at date: Date) async throws -> GrantStatement {
        let usage = try await grantUsage(grantID: grant.id).mapValues { $0.amount(grant.unit) }
        return GrantStatement(grant: grant, at: date, usage: usage)
    }
}

/// Everything Strates keeps, in one backend.
/// Feedback on requests and runs, for cost-aware routing.
public protocol FeedbackStore: Sendable {
    func record(_ feedback: Feedback) async throws
    /// Feedback on `run`, or on the request `requestID`, newest first.
    func feedback(run: String?, requestID: String?) async throws -> [Feedback]
    /// The teams whose requests make up `run` (to check who may score it).
    func teams(ofRun run: String) async throws -> [String?]
    /// Records an outcome; false when the run already has one of that kind and reference.
    func record(_ outcome: Outcome) async throws -> Bool
    func outcomes(run: String) async throws -> [Outcome]
    /// How each tier has done per task class, from feedback given since `since`: each
    /// request scored on its own, and each request of a scored run.
    func tierRecords(since: Date) async throws -> TierBook
    /// Changes whenever feedback is added (so the tier records need reading again).
    func feedbackMark() async throws -> String
}

public protocol LedgerDatabase: RequestStore, KeyStore, PriceStore, DirectoryStore, BudgetStore, GrantStore, RoutingStore, FeedbackStore, WorkloadStore,
    ImportStore
{}

public protocol RoutingStore: Sendable {
    /// Requests that reached an upstream (not refused by Strates) in [from, to), grouped.
    func routingUsage(from: Date, to: Date, team: String?) async throws -> [RoutingUsageRow]
    /// How often each sequence of failed attempts happened, per route.
    func fallbackReasons(from: Date, to: Date, team: String?) async throws -> [(route: String, attempts: String, count: Int64)]
    func record(_ event: RouteEvent) async throws
    /// Runs flagged as running away, for the analytics reports.
    func record(_ flag: RunawayFlag) async throws
    func runawayFlags(from: Date, to: Date) async throws -> [RunawayFlag]
    func routeEvents(from: Date, to: Date) async throws -> [RouteEvent]
}
