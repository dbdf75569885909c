import Foundation
import Hummingbird
import Logging
import NIOCore
import StratesGateway
import StratesWire

/// The model APIs' GET routes, under `/v1` (and without it, for clients whose base URL
/// omits the version). Their POST routes never reach the router: `GatewayChannelHandler`
/// answers them in each connection's pipeline, on its event loop.
struct GatewayController<Context: RequestContext> {
    let gateway: Gateway

    func addRoutes(to router: Router<Context>) {
        for prefix in APIKind.pathPrefixes {
            router.get("\(prefix)/models") { request, context in await models(request, context) }
            // Codex CLI tries a WebSocket first; 426 makes it fall back to HTTP at once.
            router.get("\(prefix)/responses") { request, _ in refuseWebSocket(request) }
        }
    }

    func models(_ request: Request, _ context: Context) async -> Response {
        let headers = HTTPAdapters.headers(request.headers)
        let anthropicStyle = headers.contains { $0.name == "anthropic-version" }
        let format: APIFormat = anthropicStyle ? .anthropic : .openAI
        do {
            _ = try await gateway.authenticator.authenticate(headers: headers)
        } catch {
            return HTTPAdapters.error(error, format: format)
        }
        let names = gateway.advertisedModels
        let text: String
        if anthropicStyle {
            let items = names.map {
                #"{"type":"model","id":\#(JSONValue.quote($0)),"display_name":\#(JSONValue.quote($0)),"created_at":"2025-01-01T00:00:00Z"}"#
            }
            text =
                #"{"data":[\#(items.joined(separator: ","))],"has_more":false,"first_id":\#(names.first.map(JSONValue.quote) ?? "null"),"last_id":\#(names.last.map(JSONValue.quote) ?? "null")}"#
        } else {
            let items = names.map { name -> String in
                let owner = gateway.router.resolve(name)?.provider.name ?? "strates"
                return #"{"id":\#(JSONValue.quote(name)),"object":"model","created":0,"owned_by":\#(JSONValue.quote(owner))}"#
            }
            text = #"{"object":"list","data":[\#(items.joined(separator: ","))]}"#
        }
        return HTTPAdapters.json(.ok, Array(text.utf8))
    }

    func refuseWebSocket(_ request: Request) -> Response {
        let error = GatewayError(
            status: 426, message: "Strates serves the Responses API over HTTP (POST with SSE), not WebSocket. Clients fall back to HTTP on this answer.",
            code: "websocket_not_supported")
        return HTTPAdapters.json(HTTPResponse.Status(code: 426), error.body(format: .openAI), headers: [("connection", "close")])
    }
}
