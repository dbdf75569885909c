import Foundation
import Hummingbird
import Logging
import NIOCore
import StratesProviders
import StratesWire

/// Serves the simulated provider over HTTP, as a stand-in upstream (`strates sim serve`):
/// the same wire formats as OpenAI and Anthropic, no authentication, and `/sim/served`
/// listing what it answered, for reconciling a ledger against the upstream's own count.
struct SimController<Context: RequestContext> {
    let provider: SimProvider
    let maxBodyBytes: Int

    func addRoutes(to router: Router<Context>) {
        for prefix in APIKind.pathPrefixes {
            for api in APIKind.allCases {
                router.post(RouterPath(prefix + api.upstreamPath)) { request, context in await serve(api, request, context) }
            }
        }
        router.get("/sim/served") { _, _ in
            let data = (try? JSONEncoder().encode(provider.servedRecords())) ?? Data("[]".utf8)
            return HTTPAdapters.json(.ok, Array(data))
        }
        router.get("/healthz") { _, _ in HTTPAdapters.json(.ok, Array(#"{"status":"ok"}"#.utf8)) }
    }

    func serve(_ api: APIKind, _ request: Request, _ context: Context) async -> Response {
        var request = request
        guard let body = try? await request.collectBody(upTo: maxBodyBytes) else {
            return HTTPAdapters.json(.contentTooLarge, ErrorBody.render(format: api.errorFormat, status: 413, type: nil, message: "request too large"))
        }
        let bytes = Array(body.readableBytesView)
        let headers = HTTPAdapters.headers(request.headers)
        let model = (try? JSONView(object: bytes))?["model"]?.string ?? "sim"
        let stream = (try? RequestSummary.inspect(bytes, api: api))?.stream ?? false
        let upstream = UpstreamRequest(
            api: api, body: bytes, headers: headers, stream: stream, model: model,
            requestID: headers.first { $0.name == "x-strates-request-id" }?.value ?? "sim-" + UUID().uuidString
        )
        do {
            let response = try await provider.send(upstream, logger: context.logger)
            return Response(
                status: HTTPResponse.Status(code: response.status), headers: HTTPAdapters.fields(response.headers),
                body: ResponseBody(asyncSequence: response.body)
            )
        } catch {
            return HTTPAdapters.json(
                .internalServerError, ErrorBody.render(format: api.errorFormat, status: 500, type: nil, message: "simulated provider failed"))
        }
    }
}
