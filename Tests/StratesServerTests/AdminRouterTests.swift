import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import StratesTestSupport
import Testing

@testable import StratesCore
@testable import StratesGateway
@testable import StratesServer

/// The admin API driven through the HTTP application's router (no sockets): every route
/// refuses callers who are not admins, each kind can be created, read, changed and
/// deleted, a team admin stays inside its team, and the OpenAPI document lists exactly
/// the routes the router has.
@Suite struct AdminRouterTests {
    struct Keys {
        var organization = ""
        var teamA = ""
        var teamB = ""
        var member = ""
    }

    /// A decoded answer: its status and JSON body (nil when it is not JSON).
    struct Answer: @unchecked Sendable {
        var status: Int
        var json: [String: Any]?
        var contentType: String?

        var errorCode: String? { (json?["error"] as? [String: Any])?["code"] as? String }
        var data: [[String: Any]] { json?["data"] as? [[String: Any]] ?? [] }
    }

    typealias Call = @Sendable (_ method: HTTPRequest.Method, _ path: String, _ key: String?, _ body: String?) async throws -> Answer

    /// Runs `body` against a fresh `strates serve` application over a temporary ledger.
    static func withApp(_ body: @escaping @Sendable (Call, Keys) async throws -> Void) async throws {
        let folder = TemporaryFolder(prefix: "strates-admin-router-")
        try FileManager.default.createDirectory(atPath: folder.path, withIntermediateDirectories: true)
        var configuration = StratesConfiguration.defaults(environment: [:])
        configuration.databasePath = folder.path + "/strates.db"
        let logger = Logger(label: "strates-test")
        let runtime = try await StratesRuntime.start(configuration: configuration, environment: [:], logger: logger)
        var keys = Keys()
        func make(_ role: KeyRole, team: String?, member: String) async throws -> String {
            let made = KeySecrets.makeKey(
                name: nil, role: role, organization: "default", team: team, member: member, service: nil, environment: .production, workflow: nil,
                expiresAt: nil)
            try await runtime.database.insert(made.key)
            try await runtime.database.ensure(organization: "default", team: team, member: member, service: nil)
            return made.secret
        }
        keys.organization = try await make(.admin, team: nil, member: "root")
        keys.teamA = try await make(.admin, team: "a", member: "lead-a")
        keys.teamB = try await make(.admin, team: "b", member: "lead-b")
        keys.member = try await make(.gateway, team: "a", member: "ana")
        _ = try await make(.gateway, team: "b", member: "bo")
        let app = buildApplication(runtime: runtime, logger: logger)
        let madeKeys = keys
        do {
            try await app.test(.router) { client in
                let call: Call = { method, path, key, body in
                    var headers = HTTPFields()
                    if let key { headers[.authorization] = "Bearer \(key)" }
                    if body != nil { headers[.contentType] = "application/json" }
                    let response = try await client.execute(uri: path, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
                    let json = try? JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any]
                    return Answer(status: Int(response.status.code), json: json, contentType: response.headers[.contentType])
                }
                try await body(call, madeKeys)
            }
        } catch {
            await runtime.shutdown()
            throw error
        }
        await runtime.shutdown()
    }

    /// The routes `GET /api` lists, with `{param}` filled in.
    static func listed(_ call: Call, _ key: String) async throws -> [(method: HTTPRequest.Method, path: String)] {
        let listing = try await call(.get, "/api", key, nil)
        #expect(listing.status == 200)
        return listing.data.compactMap { item in
            guard let method = (item["method"] as? String).flatMap { HTTPRequest.Method(rawValue: $0) }, let path = item["path"] as? String else { return nil }
            return (method, path.replacingOccurrences(of: #"\{[a-z]+\}"#, with: "x", options: .regularExpression))
        }
    }

    @Test func everyAdminRouteRefusesCallersWithoutAnAdminKey() async throws {
        try await Self.withApp { call, keys in
            let routes = try await Self.listed(call, keys.organization)
            #expect(routes.count >= 50)
            for (method, path) in routes where path != "/api/outcomes/github" && path != "/api/openapi.json" {
                let body = [.post, .put, .patch].contains(method) ? "{}" : nil
                let missing = try await call(method, path, nil, body)
                #expect(missing.status == 401 && missing.errorCode == "missing_api_key", "\(method) \(path)")
                let wrong = try await call(method, path, "sk-strates-not-a-key", body)
                #expect(wrong.status == 401 && wrong.errorCode == "invalid_api_key", "\(method) \(path)")
                let member = try await call(method, path, keys.member, body)
                #expect(member.status == 403 && member.errorCode == "admin_key_required", "\(method) \(path)")
            }
        }
    }

    @Test func theOpenAPIDocumentListsExactlyTheRegisteredRoutes() async throws {
        try await Self.withApp { call, keys in
            let document = try await call(.get, "/api/openapi.json", nil, nil)
            #expect(document.status == 200 && document.json?["openapi"] as? String == "3.1.0")
            let paths = document.json?["paths"] as? [String: [String: Any]] ?? [:]
            var documented: Set<String> = []
            for (path, item) in paths {
                for method in item.keys { documented.insert("\(method.uppercased()) \(path)") }
            }
            let listing = try await call(.get, "/api", keys.organization, nil)
            var registered = Set(listing.data.compactMap { item in (item["method"] as? String).map { "\($0) \(item["path"] as? String ?? "")" } })
            registered.insert("GET /api")
            #expect(registered.contains("GET /api/openapi.json") && registered.contains("POST /api/outcomes/github"))
            #expect(documented.subtracting(registered).sorted() == [], "documented but not served")
            #expect(registered.subtracting(documented).sorted() == [], "served but not documented")
            // Every operation answers errors in the one error shape.
            for (_, item) in paths {
                for case let operation as [String: Any] in item.values {
                    #expect((operation["responses"] as? [String: Any])?["default"] != nil)
                }
            }
        }
    }

    /// Each stored kind: created (201), shown by name, changed, listed, deleted, then gone (404).
    @Test(arguments: [
        ("budgets", #"{"name": "b1", "scope": "team:a", "period": "month", "limit_usd": "50"}"#, #"{"limit_usd": "60"}"#, "limit", 60_000_000_000 as Int64),
        ("limits", #"{"name": "l1", "scope": "team:a", "requests_per_minute": 60}"#, #"{"requests_per_minute": 90}"#, "requests_per_minute", 90),
        ("policies", #"{"name": "p1", "scope": "team:a", "deny_models": ["gpt-4o"]}"#, #"{"max_context_tokens": 1000}"#, "max_context_tokens", 1_000),
        ("grants", #"{"name": "g1", "scope": "member:ana", "amount_usd": "10", "period": "month"}"#, #"{"amount_usd": "12"}"#, "amount_usd", 12),
        (
            "reserves", #"{"name": "r1", "scope": "organization:default", "capacity_usd": "100", "period": "month", "production_share": 50}"#,
            #"{"production_share": 60}"#, "production_share", 60
        ),
        ("routes", #"{"name": "fast", "deployments": [{"provider": "sim", "model": "gpt-4o-mini"}]}"#, #"{"retries": 2}"#, "retries", 2),
    ])
    func eachKindIsCreatedShownChangedListedAndDeleted(collection: String, create: String, change: String, field: String, changed: Int64) async throws {
        try await Self.withApp { call, keys in
            let key = keys.organization
            let created = try await call(.post, "/api/\(collection)", key, create)
            #expect(created.status == 201, "\(created.json ?? [:])")
            let name = created.json?["name"] as? String ?? ""
            let id = created.json?["id"] as? String ?? ""
            #expect(!id.isEmpty)
            let shown = try await call(.get, "/api/\(collection)/\(name)", key, nil)
            #expect(shown.status == 200 && shown.json?["id"] as? String == id)
            let patched = try await call(.patch, "/api/\(collection)/\(id)", key, change)
            #expect(patched.status == 200, "\(patched.json ?? [:])")
            let value = patched.json?[field]
            let number = (value as? NSNumber)?.int64Value ?? (value as? String).flatMap { Double($0) }.map { Int64($0) }
            #expect(number == changed, "\(field) is \(String(describing: value))")
            let again = try await call(.post, "/api/\(collection)", key, create)
            #expect(again.status == 409, "a second one of the same name")
            #expect(try await call(.get, "/api/\(collection)", key, nil).data.contains { $0["id"] as? String == id })
            let deleted = try await call(.delete, "/api/\(collection)/\(name)", key, nil)
            #expect(deleted.status == 200 && deleted.json?["deleted"] as? Bool == true)
            let gone = try await call(.get, "/api/\(collection)/\(id)", key, nil)
            #expect(gone.status == 404 && gone.errorCode?.hasSuffix("_not_found") == true)
        }
    }

    @Test func aTeamAdminSeesAndChangesOnlyItsTeam() async throws {
        try await Self.withApp { call, keys in
            let own = try await call(.post, "/api/budgets", keys.teamA, #"{"name": "a-month", "scope": "team:a", "period": "month", "limit_usd": "5"}"#)
            #expect(own.status == 201)
            let other = try await call(.post, "/api/budgets", keys.teamA, #"{"name": "b-month", "scope": "team:b", "period": "month", "limit_usd": "5"}"#)
            #expect(other.status == 403 && other.errorCode == "outside_your_team")
            let organization = try await call(.post, "/api/limits", keys.teamA, #"{"scope": "organization:default", "requests_per_minute": 1}"#)
            #expect(organization.status == 403 && organization.errorCode == "outside_your_team")
            // Team b's admin cannot see, change or delete team a's budget, nor tell it exists.
            #expect(try await call(.get, "/api/budgets", keys.teamB, nil).data.isEmpty)
            for method in [HTTPRequest.Method.get, .patch, .delete] {
                let answer = try await call(method, "/api/budgets/a-month", keys.teamB, method == .patch ? #"{"limit_usd": "500"}"# : nil)
                #expect(answer.status == 404 && answer.errorCode == "budget_not_found", "\(method)")
            }
            #expect(try await call(.get, "/api/budgets", keys.organization, nil).data.count == 1)
            // Members, grants and usage follow the same line.
            let grant = try await call(.post, "/api/grants", keys.teamB, #"{"name": "ana-grant", "scope": "member:ana", "amount_usd": "1", "period": "month"}"#)
            #expect(grant.status == 403)
            #expect(try await call(.get, "/api/members/ana/grants", keys.teamB, nil).status == 403)
            #expect(try await call(.get, "/api/members/ana/grants", keys.teamA, nil).status == 200)
            let usage = try await call(.get, "/api/usage?team=a", keys.teamB, nil)
            #expect(usage.status == 403 && usage.errorCode == "outside_your_team")
            #expect(try await call(.get, "/api/usage?by=team", keys.teamB, nil).status == 200)
            // Routes span teams: only an organization admin defines them.
            let route = try await call(.post, "/api/routes", keys.teamA, #"{"name": "r", "deployments": [{"provider": "sim", "model": "m"}]}"#)
            #expect(route.status == 403)
        }
    }

    @Test func reportsAnswerInJSONOrCSVAndNameTheParameterTheyRefuse() async throws {
        try await Self.withApp { call, keys in
            let key = keys.organization
            for report in ["workloads", "outcomes", "efficiency", "anomalies", "forecast", "routing", "flow?by=team", "benefits?period=2026-11"] {
                let json = try await call(.get, "/api/reports/\(report)", key, nil)
                #expect(json.status == 200 && json.json != nil && json.contentType == "application/json", "\(report)")
                let separator = report.contains("?") ? "&" : "?"
                let csv = try await call(.get, "/api/reports/\(report)\(separator)format=csv", key, nil)
                #expect(csv.status == 200 && csv.contentType?.hasPrefix("text/csv") == true, "\(report) as CSV")
            }
            for (path, param) in [
                ("/api/reports/workloads?since=yesterday", "since"), ("/api/reports/outcomes?by=color", "by"), ("/api/reports/flow?by=team&top=0", "top"),
                ("/api/reports/flow?by=colour", "by"), ("/api/reports/routing?format=xml", "format"), ("/api/reports/benefits", "period"),
                ("/api/usage?by=planet", "by"), ("/api/feedback", "run"), ("/api/outcomes", "run"),
            ] {
                let answer = try await call(.get, path, key, nil)
                let error = answer.json?["error"] as? [String: Any]
                #expect(answer.status == 400 && error?["param"] as? String == param, "\(path): \(answer.json ?? [:])")
            }
        }
    }

    @Test func badBodiesAndUnknownRecordsAreClearErrors() async throws {
        try await Self.withApp { call, keys in
            let key = keys.organization
            let notJSON = try await call(.post, "/api/budgets", key, "scope=team:a")
            #expect(notJSON.status == 400 && (notJSON.json?["error"] as? [String: Any])?["message"] as? String != nil)
            let unknownField = try await call(.post, "/api/limits", key, #"{"scope": "team:a", "requests_per_minute": 1, "colour": "red"}"#)
            #expect(unknownField.status == 400)
            let huge = try await call(.post, "/api/budgets", key, #"{"name": ""# + String(repeating: "x", count: 1 << 21) + #""}"#)
            #expect(huge.status == 413 && huge.errorCode == "request_too_large")
            let feedback = try await call(.post, "/api/feedback", key, #"{"run": "no-such-run", "score": 1}"#)
            #expect(feedback.status == 404 && feedback.errorCode == "run_not_found")
            let outcome = try await call(.post, "/api/outcomes", key, #"{"run": "no-such-run", "kind": "commit", "ref": "abc"}"#)
            #expect(outcome.status == 404 && outcome.errorCode == "run_not_found")
            let grant = try await call(.post, "/api/grants", key, #"{"name": "g", "scope": "member:ana", "amount_usd": "10", "period": "month"}"#)
            #expect(grant.status == 201)
            let statement = try await call(.get, "/api/grants/g/statement", key, nil)
            #expect(statement.status == 200 && statement.json?["balance"] as? String == "10.000000")
            let transfer = try await call(.post, "/api/grants/g/transfer", key, #"{"to": "nobody", "amount_usd": "1"}"#)
            #expect(transfer.status == 404 && transfer.errorCode == "member_not_found")
            let moved = try await call(.post, "/api/grants/g/transfer", key, #"{"to": "bo", "amount_usd": "1"}"#)
            #expect(moved.status == 201 && moved.json?["object"] as? String == "grant.transfer")
            let webhook = try await call(.post, "/api/outcomes/github", nil, "{}")
            #expect(webhook.status == 404 && webhook.errorCode == "webhook_not_configured")
            #expect(try await call(.get, "/api/routing", key, nil).data.contains { $0["source"] as? String == "config" })
            #expect(try await call(.get, "/api/reserve-status", key, nil).status == 200)
        }
    }
}
