import Foundation
import Hummingbird
import Prometheus
import StratesGateway

/// The operational endpoints, without an admin key: `/healthz`, `/readyz`, `/metrics`.
struct OperationsController<Context: RequestContext> {
    let runtime: StratesRuntime

    var endpoints: RouteCollection<Context> {
        let routes = RouteCollection(context: Context.self)
        routes.get("healthz") { _, _ in HTTPAdapters.json(.ok, Array(#"{"status":"ok"}"#.utf8)) }
        routes.get("readyz") { _, _ in await ready() }
        routes.get("metrics") { request, _ in metrics(request) }
        return routes
    }

    func ready() async -> Response {
        do {
            _ = try await runtime.database.requestCount()
            return HTTPAdapters.json(.ok, Array(#"{"status":"ready"}"#.utf8))
        } catch {
            return HTTPAdapters.json(.serviceUnavailable, Array(#"{"status":"ledger unavailable"}"#.utf8))
        }
    }

    /// The Prometheus exposition; behind `server.metrics_token_env`'s bearer token when one is set.
    func metrics(_ request: Request) -> Response {
        if let token = runtime.metricsToken {
            let presented = request.headers[.authorization].flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil }
            guard let presented, KeySecrets.sameToken(presented, token.value) else {
                var fields = HTTPAdapters.fields([("content-type", "application/json")])
                fields[.wwwAuthenticate] = "Bearer"
                let error = GatewayError(
                    status: 401, message: "/metrics needs 'Authorization: Bearer <token>' with the token in server.metrics_token_env.",
                    code: "invalid_metrics_token")
                return Response(status: .unauthorized, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: error.body(format: .openAI))))
            }
        }
        var buffer: [UInt8] = []
        runtime.registry.emit(into: &buffer)
        return Response(
            status: .ok, headers: HTTPAdapters.fields([("content-type", "text/plain; version=0.0.4")]),
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: buffer)))
    }
}
