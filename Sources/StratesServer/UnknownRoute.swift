import Hummingbird
import StratesCore
import StratesGateway
import StratesWire

/// Answers a request for no route with an error in the caller's API format that says
/// where the routes are, instead of an empty 404. Added after every route, so that it
/// wraps only the router's not-found answer.
struct UnknownRoute<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound || error.status == .methodNotAllowed {
            let path = request.uri.path
            let format: APIFormat = path.hasSuffix("/messages") || path.contains("/messages/") ? .anthropic : .openAI
            let message = """
                There is no route \(request.method.rawValue) \(JSONText.printable(String(path.prefix(200)))). \
                The model APIs are POST /v1/chat/completions, /v1/responses, /v1/embeddings, /v1/messages and \
                /v1/messages/count_tokens; GET /v1/models lists the models, and GET /api lists the admin routes.
                """
            return HTTPAdapters.error(
                GatewayError(status: Int(error.status.code), type: "not_found_error", message: message, code: "unknown_route"), format: format)
        }
    }
}
