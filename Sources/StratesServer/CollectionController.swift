import Hummingbird

/// A controller for one collection of the admin API (budgets, limits, policies, grants):
/// list and create at its root, show, change (PUT or PATCH) and delete by the id in the
/// path parameter `idParameter`. Its `endpoints` are these five, mounted where the
/// application says.
protocol CollectionController: Sendable {
    /// The path parameter that names one member (e.g. `budget` for `/api/budgets/:budget`).
    static var idParameter: String { get }
    func list(_ request: Request, _ context: AdminContext) async throws -> Response
    func create(_ request: Request, _ context: AdminContext) async throws -> Response
    func show(_ request: Request, _ context: AdminContext) async throws -> Response
    func change(_ request: Request, _ context: AdminContext) async throws -> Response
    func delete(_ request: Request, _ context: AdminContext) async throws -> Response
}

extension CollectionController {
    var endpoints: RouteCollection<AdminContext> {
        let routes = RouteCollection(context: AdminContext.self)
        let member = RouterPath(":\(Self.idParameter)")
        routes.get(use: list)
        routes.post(use: create)
        routes.get(member, use: show)
        routes.put(member, use: change)
        routes.patch(member, use: change)
        routes.delete(member, use: delete)
        return routes
    }
}
