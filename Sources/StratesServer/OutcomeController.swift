import Foundation
import Hummingbird
import StratesCore
import StratesGateway

/// `POST /api/outcomes` (`{"run", "kind", "ref", "quantity", "value_usd", "at"}`) and
/// `GET /api/outcomes?run=…`: what runs produced. A team admin records and reads only its
/// team's runs. The same run, kind and reference is recorded once (200 with the first).
struct OutcomeController<Context: RequestContext> {
    let runtime: StratesRuntime

    func addRoutes(to router: Router<Context>) {
        router.post("/api/outcomes") { request, _ in
            await AdminAccess.handle(request, runtime: runtime) { access in
                let object = try await AdminAccess.jsonObject(request, example: #"{"run": "run-42", "kind": "commit", "ref": "3f1d2c4", "quantity": 120}"#)
                let outcome: Outcome
                do {
                    outcome = try Outcome.make(from: object, id: "out_" + KeySecrets.randomHex(8), at: Date(), source: "api")
                } catch {
                    throw GatewayError.badRequest("The outcome is not valid: \(error).")
                }
                try await runtime.requireVisible(requestID: nil, run: outcome.run, access: access)
                guard try await runtime.database.record(outcome) else {
                    let existing = try await runtime.database.outcomes(run: outcome.run).first { $0.kind == outcome.kind && $0.ref == outcome.ref }
                    return HTTPAdapters.json(.ok, Array((existing ?? outcome).json.utf8))
                }
                return HTTPAdapters.json(.created, Array(outcome.json.utf8))
            }
        }
        router.get("/api/outcomes") { request, _ in
            await AdminAccess.handle(request, runtime: runtime) { access in
                guard let run = request.uri.queryParameters.get("run") else {
                    throw GatewayError.badRequest("Give the 'run' whose outcomes to list.", param: "run")
                }
                try await runtime.requireVisible(requestID: nil, run: run, access: access)
                let items = try await runtime.database.outcomes(run: run).map(\.json)
                return HTTPAdapters.json(.ok, Array(#"{"object":"list","data":[\#(items.joined(separator: ","))]}"#.utf8))
            }
        }
    }
}
