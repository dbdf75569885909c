import Foundation
import Hummingbird
import StratesGateway

/// The context of every request the router answers: the admin principal, once the `/api`
/// group's authentication has resolved it.
struct StratesRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    var admin: AdminAccess?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }
}

/// The context of an admin route: the caller is an admin key, resolved once with its team
/// scope. It cannot be made without one, so no admin handler can forget to check.
struct AdminContext: ChildRequestContext {
    var coreContext: CoreRequestContextStorage
    let access: AdminAccess

    init(context: StratesRequestContext) throws {
        guard let access = context.admin else { throw GatewayError.missingKey }
        // The parent's storage, path parameters included.
        coreContext = context.coreContext
        self.access = access
    }
}

/// Resolves the admin key of an `/api` request into the context; a missing, unknown or
/// non-admin key is refused here, in the admin API's format.
struct AdminAuthentication: RouterMiddleware {
    typealias Context = StratesRequestContext
    let runtime: StratesRuntime

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.admin = try await AdminAccess.authenticate(request, runtime: runtime)
        return try await next(request, context)
    }
}

/// Every failure of an admin route as an error in the admin API's format (OpenAI's):
/// the gateway's own errors render themselves; Hummingbird's keep their status and
/// message; anything else is the ledger failing, and reveals nothing more.
struct AdminErrors: RouterMiddleware {
    typealias Context = StratesRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as GatewayError {
            throw error
        } catch let error as HTTPError {
            throw GatewayError(status: Int(error.status.code), message: error.body ?? error.status.reasonPhrase, code: "invalid_request")
        } catch {
            throw GatewayError.ledgerUnavailable
        }
    }
}

extension GatewayError {
    /// The ledger could not be read or written (the only failure an admin route does not
    /// name itself).
    static let ledgerUnavailable = GatewayError(status: 503, message: "The ledger could not be read or written. Try again shortly.", code: "ledger_unavailable")
}

/// The gateway's error renders itself when a route throws it: in OpenAI's format, the
/// admin API's own (the model APIs choose their caller's format in the channel handler).
extension GatewayError: HTTPResponseError {
    public var status: HTTPResponse.Status { HTTPResponse.Status(code: statusCode) }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        HTTPAdapters.error(self, format: .openAI)
    }
}
