import Foundation
import Hummingbird
import StratesCore
import StratesGateway
import StratesLedger

/// `/api/limits` and `/api/policies`: list, create, show, change and delete rules of one
/// kind. Organization admins manage every rule; a team admin only those on the team, its
/// members and its keys. Changes apply to the running gateway at once.
struct RuleController<Rule: ManagedRule>: CollectionController {
    let runtime: StratesRuntime
    let index: RuleIndex<Rule>
    /// Checks a rule against what only the running gateway knows (e.g. its providers).
    var validate: @Sendable (Rule) throws(GatewayError) -> Void = { _ in }

    static var idParameter: String { "rule" }

    @Sendable func list(_ request: Request, _ context: AdminContext) async throws -> Response {
        HTTPAdapters.list(try await context.access.visible(index.all))
    }

    @Sendable func show(_ request: Request, _ context: AdminContext) async throws -> Response {
        HTTPAdapters.json(.ok, try await find(context))
    }

    @Sendable func create(_ request: Request, _ context: AdminContext) async throws -> Response {
        try await apply(try await Self.body(request), to: nil, access: context.access)
    }

    @Sendable func change(_ request: Request, _ context: AdminContext) async throws -> Response {
        let current = try await find(context)
        return try await apply(try await Self.body(request), to: current, access: context.access)
    }

    /// Checks the changed rule (and that this admin may put it on its scope), saves it,
    /// and makes it the one in force.
    func apply(_ object: [String: Any], to current: Rule?, access: AdminAccess) async throws -> Response {
        var fields = RuleFields(object, known: Rule.fields)
        let rule: Rule
        do {
            rule = try Rule.make(from: &fields, current: current, id: current?.id ?? "\(Rule.kind)_" + KeySecrets.randomHex(8), now: Date())
        } catch {
            throw GatewayError.badRequest("The \(Rule.noun) is not valid: \(error).")
        }
        try await access.require(rule.scope)
        try validate(rule)
        do {
            try await runtime.database.save(rule: rule)
        } catch let taken as NameTaken {
            throw GatewayError(
                status: 409, message: "A \(Rule.noun) named '\(taken.name)' already exists. Choose another name, or change that one.", code: "name_taken")
        }
        try await runtime.reloadControls()
        return HTTPAdapters.json(current == nil ? .created : .ok, rule)
    }

    @Sendable func delete(_ request: Request, _ context: AdminContext) async throws -> Response {
        let rule = try await find(context)
        _ = try await runtime.database.deleteRule(Rule.self, rule.id)
        try await runtime.reloadControls()
        return HTTPAdapters.deleted(rule.id)
    }

    /// The rule named by the path (id or name), if this admin may see it.
    func find(_ context: AdminContext) async throws -> Rule {
        try await context.access.find(
            HTTPAdapters.pathParameter(Self.idParameter, in: context), in: index.all, noun: Rule.noun, collection: Rule.collection,
            code: "\(Rule.kind)_not_found")
    }

    static func body(_ request: Request) async throws -> [String: Any] {
        try await AdminAccess.jsonObject(request, example: #"{"scope": "team:platform", ...}; fields: "# + Rule.fields.sorted().joined(separator: ", "))
    }
}
