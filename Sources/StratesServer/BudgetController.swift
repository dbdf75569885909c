import Foundation
import Hummingbird
import StratesCore
import StratesGateway
import StratesLedger

/// `/api/budgets`: list, create, show, change and delete budgets. Organization admins
/// manage every budget; a team admin (an admin key bound to a team) only those scoped to
/// the team, its members and its keys. Changes apply to the running gateway at once.
struct BudgetController: CollectionController {
    let runtime: StratesRuntime

    static let idParameter = "budget"

    @Sendable func list(_ request: Request, _ context: AdminContext) async throws -> Response {
        let visible = try await context.access.visible(runtime.budgets.budgets)
        let standings = try await runtime.budgets.standings(of: visible)
        return HTTPAdapters.list(zip(visible, standings).map(BudgetBody.init))
    }

    @Sendable func show(_ request: Request, _ context: AdminContext) async throws -> Response {
        let budget = try await find(context)
        let standing = try await runtime.budgets.standings(of: [budget]).first
        return HTTPAdapters.json(.ok, BudgetBody(budget, standing: standing))
    }

    @Sendable func create(_ request: Request, _ context: AdminContext) async throws -> Response {
        try await apply(try await Self.changes(request), to: nil, access: context.access)
    }

    @Sendable func change(_ request: Request, _ context: AdminContext) async throws -> Response {
        let current = try await find(context)
        return try await apply(try await Self.changes(request), to: current, access: context.access)
    }

    /// Checks the changed budget (and that this admin may put it on its scope), saves it,
    /// and answers with it and where it stands.
    func apply(_ changes: BudgetChanges, to current: Budget?, access: AdminAccess) async throws -> Response {
        let budget: Budget
        do {
            budget = try changes.apply(to: current, id: current?.id ?? "bud_" + KeySecrets.randomHex(8), now: Date())
        } catch {
            throw GatewayError.badRequest("The budget is not valid: \(error).")
        }
        try await access.require(budget.scope)
        do {
            try await runtime.database.save(budget)
        } catch let taken as NameTaken {
            throw GatewayError(
                status: 409, message: "A budget named '\(taken.name)' already exists. Choose another name, or change that budget.", code: "budget_name_taken")
        }
        try await runtime.budgets.reload()
        let standing = try await runtime.budgets.standings(of: [budget]).first
        return HTTPAdapters.json(current == nil ? .created : .ok, BudgetBody(budget, standing: standing))
    }

    @Sendable func delete(_ request: Request, _ context: AdminContext) async throws -> Response {
        let budget = try await find(context)
        _ = try await runtime.database.deleteBudget(budget.id)
        try await runtime.budgets.reload()
        return HTTPAdapters.deleted(budget.id)
    }

    /// The budget named by the path (id or name), if this admin may see it.
    func find(_ context: AdminContext) async throws -> Budget {
        try await context.access.find(
            HTTPAdapters.pathParameter(Self.idParameter, in: context), in: runtime.budgets.budgets, noun: "budget", collection: "budgets",
            code: "budget_not_found")
    }

    static func changes(_ request: Request) async throws -> BudgetChanges {
        let object = try await AdminAccess.jsonObject(request, example: #"{"scope": "team:platform", "period": "month", "limit_usd": "500"}"#)
        do {
            return try BudgetChanges(json: object)
        } catch {
            throw GatewayError.badRequest("The budget is not valid: \(error).")
        }
    }
}
