import Foundation
import HTTPTypes
import Hummingbird
import StratesAnalytics
import StratesCore
import StratesGateway
import StratesLedger

/// `POST /api/outcomes` (`{"run", "kind", "ref", "quantity", "value_usd", "at"}`) and
/// `GET /api/outcomes?run=…`: what runs produced. A team admin records and reads only its
/// team's runs. The same run, kind and reference is recorded once (200 with the first).
struct OutcomeController {
    let runtime: StratesRuntime

    /// Mounted at `/api/outcomes`, behind an admin key.
    var endpoints: RouteCollection<AdminContext> {
        RouteCollection(context: AdminContext.self).post(use: create).get(use: list)
    }

    @Sendable func create(_ request: Request, _ context: AdminContext) async throws -> Response {
        let access = context.access
        let object = try await AdminAccess.jsonObject(request, example: #"{"run": "run-42", "kind": "commit", "ref": "3f1d2c4", "quantity": 120}"#)
        let outcome: Outcome
        do {
            outcome = try Outcome.make(from: object, id: "out_" + KeySecrets.randomHex(8), at: Date(), source: "api")
        } catch {
            throw GatewayError.badRequest("The outcome is not valid: \(error).")
        }
        try await runtime.requireVisible(requestID: nil, run: outcome.run, access: access)
        let added = try await runtime.database.record(outcome)
        runtime.gateway.runs?.outcomeRecorded(run: outcome.run)
        guard added else {
            let existing = try await runtime.database.outcomes(run: outcome.run).first { $0.kind == outcome.kind && $0.ref == outcome.ref }
            return HTTPAdapters.json(.ok, existing ?? outcome)
        }
        return HTTPAdapters.json(.created, outcome)
    }

    @Sendable func list(_ request: Request, _ context: AdminContext) async throws -> Response {
        let access = context.access
        guard let run = request.uri.queryParameters.get("run") else {
            throw GatewayError.badRequest("Give the 'run' whose outcomes to list.", param: "run")
        }
        try await runtime.requireVisible(requestID: nil, run: run, access: access)
        return HTTPAdapters.list(try await runtime.database.outcomes(run: run))
    }

    /// GitHub's webhook: `pull_request` (opened, or closed when merged) and `deployment_status`
    /// (success) become outcomes of the runs named by `Strates-Run:` lines, or, failing
    /// that, of the latest run seen on the branch (inferred). Deliveries are checked against
    /// the configured secret (`X-Hub-Signature-256`); there is no admin key on this route.
    /// Only runs of the teams `outcomes.github_repositories` maps the repository to take an
    /// outcome: anyone who can open a pull request can write its `Strates-Run:` lines.
    @Sendable func github(_ request: Request, _ context: some RequestContext) async -> Response {
        func refuse(_ status: HTTPResponse.Status, _ message: String, _ code: String) -> Response {
            HTTPAdapters.json(status, GatewayError(status: Int(status.code), message: message, code: code).body(format: .openAI))
        }
        guard let secret = runtime.githubWebhookSecret else {
            return refuse(.notFound, "GitHub webhooks are not set up: give outcomes.github_webhook_secret_env in the configuration.", "webhook_not_configured")
        }
        var request = request
        guard let buffer = try? await request.collectBody(upTo: 5 << 20) else {
            return refuse(.contentTooLarge, "The delivery is larger than 5 MiB.", "too_large")
        }
        let body = Array(buffer.readableBytesView)
        guard KeySecrets.validGitHubSignature(request.headers[HTTPField.Name("X-Hub-Signature-256")!], body: body, secret: secret.value) else {
            return refuse(.unauthorized, "The delivery's X-Hub-Signature-256 does not match the configured secret.", "bad_signature")
        }
        let event = request.headers[HTTPField.Name("X-GitHub-Event")!] ?? ""
        guard let payload = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] else {
            return refuse(.badRequest, "The delivery is not a JSON object (set the webhook's content type to application/json).", "invalid_json")
        }
        let found: GitHubOutcome
        switch GitHubOutcome.read(event: event, payload: payload) {
        case .success(let outcome): found = outcome
        case .failure(let ignored): return HTTPAdapters.json(.ok, DeliveryIgnored(reason: ignored.reason))
        }
        let repositories = runtime.configuration.githubRepositories ?? RepositoryTeams()
        guard let mapped = repositories.teams(of: found.repository) else {
            let name = found.repository.map { "repository '\($0)'" } ?? "a delivery without a repository"
            return HTTPAdapters.json(.ok, DeliveryIgnored(reason: "\(name) is not mapped to a team: add it under outcomes.github_repositories"))
        }
        do {
            await runtime.ledgerWriter.flush()
            var runs: [String] = []
            var refused: [String] = []
            for run in found.runs {
                let teams = try await runtime.database.teams(ofRun: run)
                guard !teams.isEmpty else { continue }
                if repositories.allows(runTeams: teams, from: found.repository) { runs.append(run) } else { refused.append(run) }
            }
            var inferred = false
            if runs.isEmpty, found.runs.isEmpty, let branch = found.branch {
                var candidates = try await runtime.database.runContexts(branch: branch).filter { $0.firstAt <= found.at }
                candidates.sort { $0.lastAt > $1.lastAt }
                for candidate in candidates where repositories.allows(runTeams: try await runtime.database.teams(ofRun: candidate.run), from: found.repository)
                {
                    runs = [candidate.run]
                    inferred = true
                    break
                }
            }
            var recorded = 0
            for run in runs {
                let outcome = Outcome(
                    id: "out_" + KeySecrets.randomHex(8), at: found.at, run: run, kind: found.kind, ref: found.ref, quantity: found.quantity,
                    inferred: inferred, source: "github")
                if try await runtime.database.record(outcome) { recorded += 1 }
                runtime.gateway.runs?.outcomeRecorded(run: run)
            }
            return HTTPAdapters.json(
                .accepted,
                DeliveryRecorded(recorded: recorded, outcome: found, runs: runs, inferred: inferred, refused: refused, mappedTeams: mapped.sorted()))
        } catch {
            return refuse(.internalServerError, "The outcome could not be recorded: \(error). GitHub retries failed deliveries.", "ledger_unavailable")
        }
    }
}

/// What a GitHub delivery that names no outcome (or no mapped repository) is answered.
struct DeliveryIgnored: APIRepresentable {
    var reason: String

    func encodeFields(_ fields: inout APIFields) throws {
        try fields.put("recorded", 0)
        try fields.put("ignored", reason)
    }
}

/// What a GitHub delivery that names an outcome is answered: how many runs took it, and
/// the runs left out because their teams are not the repository's.
struct DeliveryRecorded: APIRepresentable {
    var recorded: Int
    var outcome: GitHubOutcome
    var runs: [String]
    var inferred: Bool
    var refused: [String]
    var mappedTeams: [String]

    func encodeFields(_ fields: inout APIFields) throws {
        try fields.put("recorded", recorded)
        try fields.put("kind", outcome.kind.rawValue)
        try fields.put("ref", outcome.ref)
        try fields.put("runs", runs)
        try fields.put("inferred", inferred)
        if !refused.isEmpty {
            try fields.put("outside_mapped_teams", refused)
            try fields.put("mapped_teams", mappedTeams)
        }
    }
}
