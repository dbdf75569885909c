import Foundation
import Hummingbird
import StratesCore
import StratesGateway
import StratesLedger

/// `/api/limits` and `/api/policies`: list, create, show, change and delete rules of one
/// kind. Organization admins manage every rule; a team admin only those on the team, its
/// members and its keys. Changes apply to the running gateway at once.
struct RuleController<Context: RequestContext, Rule: ControlRule> {
    let runtime: StratesRuntime
    let index: RuleIndex<Rule>
    /// Checks a rule against what only the running gateway knows (e.g. its providers).
    var validate: @Sendable (Rule) throws(GatewayError) -> Void = { _ in }

    func addRoutes(to router: Router<Context>) {
        let path = RouterPath("/api/\(Rule.collection)")
        let item = RouterPath("/api/\(Rule.collection)/:rule")
        router.get(path) { request, _ in await list(request) }
        router.post(path) { request, _ in await create(request) }
        router.get(item) { request, context in await show(request, context) }
        router.put(item) { request, context in await change(request, context) }
        router.patch(item) { request, context in await change(request, context) }
        router.delete(item) { request, context in await delete(request, context) }
    }

    func list(_ request: Request) async -> Response {
        await AdminAccess.handle(request, runtime: runtime) { access in
            let items = try await access.visible(index.all).map(\.json)
            return HTTPAdapters.json(.ok, Array(#"{"object":"list","data":[\#(items.joined(separator: ","))]}"#.utf8))
        }
    }

    func show(_ request: Request, _ context: Context) async -> Response {
        await AdminAccess.handle(request, runtime: runtime) { access in
            HTTPAdapters.json(.ok, Array(try await find(context, access).json.utf8))
        }
    }

    func create(_ request: Request) async -> Response {
        await AdminAccess.handle(request, runtime: runtime) { access in
            try await apply(try await Self.body(request), to: nil, access: access)
        }
    }

    func change(_ request: Request, _ context: Context) async -> Response {
        await AdminAccess.handle(request, runtime: runtime) { access in
            let current = try await find(context, access)
            return try await apply(try await Self.body(request), to: current, access: access)
        }
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
        return HTTPAdapters.json(current == nil ? .created : .ok, Array(rule.json.utf8))
    }

    func delete(_ request: Request, _ context: Context) async -> Response {
        await AdminAccess.handle(request, runtime: runtime) { access in
            let rule = try await find(context, access)
            _ = try await runtime.database.deleteRule(Rule.self, rule.id)
            try await runtime.reloadControls()
            return HTTPAdapters.json(.ok, Array(#"{"id":\#(JSONText.quote(rule.id)),"deleted":true}"#.utf8))
        }
    }

    /// The rule named by the path (id or name), if this admin may see it.
    func find(_ context: Context, _ access: AdminAccess) async throws -> Rule {
        try await access.find(
            HTTPAdapters.pathParameter("rule", in: context), in: index.all, noun: Rule.noun, collection: Rule.collection, code: "\(Rule.kind)_not_found")
    }

    static func body(_ request: Request) async throws -> [String: Any] {
        try await AdminAccess.jsonObject(request, example: #"{"scope": "team:platform", ...}; fields: "# + Rule.fields.sorted().joined(separator: ", "))
    }
}
