import Foundation
import Hummingbird
import StratesCore
import StratesGateway

/// `/api/reserves`: the generic rule routes plus where each reserve stands on the running
/// gateway (`/api/reserves/:rule/status`, and every one with `/api/reserve-status`).
struct ReserveController<Context: RequestContext> {
    let runtime: StratesRuntime

    var rules: RuleController<Context, ProductionReserve> { RuleController(runtime: runtime, index: runtime.reserves.rules) }

    func addRoutes(to router: Router<Context>) {
        rules.addRoutes(to: router)
        router.get("/api/reserves/:rule/status") { request, context in
            await AdminAccess.handle(request, runtime: runtime) { access in
                let reserve = try await rules.find(context, access)
                let standing = try await runtime.reserves.standings(of: [reserve]).first
                return HTTPAdapters.json(.ok, Array((standing?.json ?? "{}").utf8))
            }
        }
        router.get("/api/reserve-status") { request, _ in
            await AdminAccess.handle(request, runtime: runtime) { access in
                let visible = try await access.visible(runtime.reserves.rules.all)
                let items = try await runtime.reserves.standings(of: visible).map(\.json)
                return HTTPAdapters.json(.ok, Array(#"{"object":"list","data":[\#(items.joined(separator: ","))]}"#.utf8))
            }
        }
    }
}
