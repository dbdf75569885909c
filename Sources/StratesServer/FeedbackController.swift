import Foundation
import Hummingbird
import StratesCore
import StratesGateway

/// `POST /api/feedback` (`{"request_id" | "run", "score": 0…1, "source", "comment"}`) and
/// `GET /api/feedback?run=…|request_id=…`. A team admin scores and reads only its team's
/// requests and runs. The comment is stored, never logged.
struct FeedbackController {
    let runtime: StratesRuntime

    /// Mounted at `/api/feedback`.
    var endpoints: RouteCollection<AdminContext> {
        RouteCollection(context: AdminContext.self).post(use: create).get(use: list)
    }

    @Sendable func create(_ request: Request, _ context: AdminContext) async throws -> Response {
        let access = context.access
        let object = try await AdminAccess.jsonObject(request, example: #"{"request_id": "req_…", "score": 1, "source": "review"}"#)
        let feedback: Feedback
        do {
            feedback = try Feedback.make(from: object, id: "fb_" + KeySecrets.randomHex(8), at: Date())
        } catch {
            throw GatewayError.badRequest("The feedback is not valid: \(error).")
        }
        try await runtime.requireVisible(requestID: feedback.requestID, run: feedback.run, access: access)
        try await runtime.database.record(feedback)
        // Auto routing learns from it at once, not at the next reload.
        try? await runtime.gateway.refreshTierRecords(from: runtime.database)
        return HTTPAdapters.json(.created, feedback)
    }

    @Sendable func list(_ request: Request, _ context: AdminContext) async throws -> Response {
        let access = context.access
        let parameters = request.uri.queryParameters
        let run = parameters.get("run")
        let requestID = parameters.get("request_id")
        guard (run == nil) != (requestID == nil) else {
            throw GatewayError.badRequest("Give either 'run' or 'request_id' in the query.", param: "run")
        }
        try await runtime.requireVisible(requestID: requestID, run: run, access: access)
        return HTTPAdapters.list(try await runtime.database.feedback(run: run, requestID: requestID))
    }
}

extension StratesRuntime {
    /// The request or run must exist in the ledger, and, for a team admin, be its team's.
    func requireVisible(requestID: String?, run: String?, access: AdminAccess) async throws {
        await ledgerWriter.flush()
        if let requestID {
            guard let record = try await database.request(id: requestID), access.team == nil || record.attribution.team == access.team else {
                throw GatewayError(
                    status: 404,
                    message:
                        "No request '\(requestID)' in the ledger\(access.team.map { " for team '\($0)'" } ?? ""). Its id is in the x-strates-request-id response header.",
                    code: "request_not_found")
            }
        }
        if let run {
            let teams = try await database.teams(ofRun: run)
            guard !teams.isEmpty, access.team == nil || teams.allSatisfy({ $0 == access.team }) else {
                throw GatewayError(
                    status: 404,
                    message:
                        "No run '\(run)' in the ledger\(access.team.map { " for team '\($0)'" } ?? ""). Runs come from x-strates-run or the client's session id.",
                    code: "run_not_found")
            }
        }
    }
}
