import Foundation
import Hummingbird
import StratesCore
import StratesGateway
import StratesLedger

/// `/api/grants`: the generic rule routes (list, create, show, change, delete) plus what is
/// particular to grants — where a grant stands (`/statement`), where all of a member's
/// grants stand (`/api/members/:member/grants`), and transfers between members.
struct GrantController<Context: RequestContext> {
    let runtime: StratesRuntime

    func addRoutes(to router: Router<Context>) {
        RuleController<Context, Grant>(runtime: runtime, index: runtime.grants.rules).addRoutes(to: router)
        router.get("/api/grants/:rule/statement") { request, context in await statement(request, context) }
        router.post("/api/grants/:rule/transfer") { request, context in await transfer(request, context) }
        router.get("/api/members/:member/grants") { request, context in await member(request, context) }
    }

    func statement(_ request: Request, _ context: Context) async -> Response {
        await AdminAccess.handle(request, runtime: runtime) { access in
            let grant = try await find(context, access)
            let statements = try await runtime.grants.statements(of: [grant])
            return HTTPAdapters.json(.ok, Array((statements.first?.json ?? "{}").utf8))
        }
    }

    func member(_ request: Request, _ context: Context) async -> Response {
        await AdminAccess.handle(request, runtime: runtime) { access in
            let member = HTTPAdapters.pathParameter("member", in: context)
            try await access.require(BudgetScope(kind: .member, value: member))
            let grants = runtime.grants.rules.all.filter { $0.member == member }
            let items = try await runtime.grants.statements(of: grants).map(\.json)
            return HTTPAdapters.json(.ok, Array(#"{"object":"list","member":\#(JSONText.quote(member)),"data":[\#(items.joined(separator: ","))]}"#.utf8))
        }
    }

    /// `{"to": "bo", "amount_usd": 20, "note": "..."}` (or `amount_tokens`).
    func transfer(_ request: Request, _ context: Context) async -> Response {
        await AdminAccess.handle(request, runtime: runtime) { access in
            let grant = try await find(context, access)
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
            return HTTPAdapters.json(.created, Array(#"{"object":"grant.transfer","from":\#(made.source.json),"to":\#(made.received.json)}"#.utf8))
        }
    }

    func find(_ context: Context, _ access: AdminAccess) async throws -> Grant {
        try await RuleController<Context, Grant>(runtime: runtime, index: runtime.grants.rules).find(context, access)
    }
}
