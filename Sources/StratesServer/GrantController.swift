import Foundation
import Hummingbird
import StratesCore
import StratesGateway
import StratesLedger

/// `/api/grants`: the generic rule routes (list, create, show, change, delete) plus what is
/// particular to grants — where a grant stands (`/statement`), where all of a member's
/// grants stand (`/api/members/:member/grants`), and transfers between members.
struct GrantController {
    let runtime: StratesRuntime

    var rules: RuleController<Grant> { RuleController(runtime: runtime, index: runtime.grants.rules) }

    /// Mounted at `/api/grants`.
    var endpoints: RouteCollection<AdminContext> {
        let routes = rules.endpoints
        routes.get(":rule/statement", use: statement)
        routes.post(":rule/transfer", use: transfer)
        return routes
    }

    /// Mounted at `/api/members`.
    var memberEndpoints: RouteCollection<AdminContext> {
        RouteCollection(context: AdminContext.self).get(":member/grants", use: member)
    }

    @Sendable func statement(_ request: Request, _ context: AdminContext) async throws -> Response {
        let grant = try await rules.find(context)
        let statements = try await runtime.grants.statements(of: [grant])
        guard let statement = statements.first else { return HTTPAdapters.json(.ok, Array("{}".utf8)) }
        return HTTPAdapters.json(.ok, statement)
    }

    @Sendable func member(_ request: Request, _ context: AdminContext) async throws -> Response {
        let member = HTTPAdapters.pathParameter("member", in: context)
        try await context.access.require(BudgetScope(kind: .member, value: member))
        let grants = runtime.grants.rules.all.filter { $0.member == member }
        return HTTPAdapters.list(try await runtime.grants.statements(of: grants), extra: [("member", member)])
    }

    /// `{"to": "bo", "amount_usd": 20, "note": "..."}` (or `amount_tokens`).
    @Sendable func transfer(_ request: Request, _ context: AdminContext) async throws -> Response {
        let access = context.access
        let grant = try await rules.find(context)
        let object = try await AdminAccess.jsonObject(request, example: #"{"to": "bo", "amount_usd": 20, "note": "for the migration"}"#)
        var fields = RuleFields(object, known: ["to", "amount_usd", "amount_tokens", "note"])
        let to: String
        if case .set(let text) = fields.text("to") {
            to = text
        } else {
            to = ""
            fields.problem("'to' must name the member who receives it")
        }
        let note: String? = if case .set(let text) = fields.text("note") { text } else { nil }
        let amount = grant.unit == .usd ? fields.dollars("amount_usd") : fields.wholeNumber("amount_tokens")
        if object[grant.unit == .usd ? "amount_tokens" : "amount_usd"] != nil {
            fields.problem("grant '\(grant.name)' is in \(grant.unit == .usd ? "dollars: use amount_usd" : "tokens: use amount_tokens")")
        }
        guard case .set(let value) = amount, fields.problems.isEmpty else {
            let problems = fields.problems.isEmpty ? ["\(grant.unit == .usd ? "amount_usd" : "amount_tokens") is required"] : fields.problems
            throw GatewayError.badRequest("The transfer is not valid: \(problems.joined(separator: "; ")).")
        }
        try await access.require(BudgetScope(kind: .member, value: to))
        let known = try await runtime.database.members(organization: access.key.organization).contains { $0.member == to }
        guard known else {
            throw GatewayError(
                status: 404,
                message:
                    "No member '\(to)' in organization '\(access.key.organization)'. Members appear when a key is created for them ('strates keys create --member \(to)').",
                code: "member_not_found")
        }
        let made: (source: Grant, received: Grant)
        do {
            made = try await runtime.grants.transfer(grant.id, to: to, amount: value, note: note)
        } catch let problems as RuleProblems {
            throw GatewayError(status: 409, message: "The transfer cannot be made: \(problems).", code: "transfer_refused")
        }
        return HTTPAdapters.json(.created, GrantTransferBody(source: made.source, received: made.received))
    }
}
