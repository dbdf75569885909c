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

/// Everything Strates keeps, in one backend.
public protocol LedgerDatabase: RequestStore, KeyStore, PriceStore, DirectoryStore {}
