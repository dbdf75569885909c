import Foundation
import Hummingbird
import StratesCore
import StratesGateway
import StratesLedger

/// Who is calling an `/api/` endpoint. An admin key with no team is an organization admin
/// and may do everything; an admin key bound to a team is that team's admin and sees and
/// changes only what belongs to the team: its own scope, its members and its keys.
struct AdminAccess {
    let key: APIKey
    let database: any LedgerDatabase

    var team: String? { key.team }
    var isOrganizationAdmin: Bool { key.team == nil }

    static func authenticate(_ request: Request, runtime: StratesRuntime) async throws(GatewayError) -> AdminAccess {
        let key = try await runtime.authenticator.authenticate(headers: HTTPAdapters.headers(request.headers))
        guard key.role == .admin else { throw GatewayError.notAdmin }
        return AdminAccess(key: key, database: runtime.database)
    }

    /// Whether this admin may see and change what is charged to `scope`.
    func may(_ scope: BudgetScope) async throws -> Bool {
        guard let team else { return true }
        switch scope.kind {
        case .team:
            return scope.value == team
        case .member:
            // A member is the team's when every key they can still use is the team's: a member
            // once in the team (a revoked or expired key) or also in another team is not its
            // admin's to govern, as their spending is not only the team's.
            let now = Date()
            let live = try await database.keys(includeRevoked: false).filter {
                $0.organization == key.organization && $0.member == scope.value && ($0.expiresAt.map { $0 > now } ?? true)
            }
            return !live.isEmpty && live.allSatisfy { $0.team == team }
        case .key:
            let keys = try await database.keys(includeRevoked: true)
            return keys.contains { $0.id == scope.value && $0.team == team }
        case .organization, .workflow, .environment:
            // These span teams: only an organization admin manages them.
            return false
        }
    }

    func require(_ scope: BudgetScope) async throws {
        guard try await may(scope) else {
            throw GatewayError(
                status: 403,
                message:
                    "This admin key belongs to team '\(team ?? "")' and cannot manage '\(scope.text)'. A team admin manages the team's own scope (team:\(team ?? "")), its members and its keys; ask an organization admin for the rest.",
                code: "outside_your_team"
            )
        }
    }

    /// The rule named by id or name (a path parameter), if this admin may see it; a 404
    /// otherwise, so a team admin cannot even tell another team's rule exists.
    func find<Rule: ScopedRule>(_ wanted: String, in rules: [Rule], noun: String, collection: String, code: String) async throws -> Rule {
        guard let rule = rules.named(wanted), try await visible([rule]).count == 1 else {
            throw GatewayError(status: 404, message: "No \(noun) with id or name '\(wanted)'. List them with GET /api/\(collection).", code: code)
        }
        return rule
    }

    /// An admin request's body as a JSON object; a 400 showing `example` otherwise.
    static func jsonObject(_ request: Request, example: String) async throws -> [String: Any] {
        var request = request
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: 1 << 20)
        } catch {
            throw GatewayError(status: 413, type: "request_too_large", message: "An admin request's body may be at most 1 MiB.", code: "request_too_large")
        }
        guard let object = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any] else {
            throw GatewayError.badRequest("The body must be a JSON object, e.g. \(example).")
        }
        return object
    }

    func visible<Rule: ScopedRule>(_ rules: [Rule]) async throws -> [Rule] {
        guard !isOrganizationAdmin else { return rules }
        var kept: [Rule] = []
        for rule in rules where try await may(rule.scope) { kept.append(rule) }
        return kept
    }
}
