import Foundation
import Hummingbird
import StratesCore
import StratesLedger

/// The admin API's OpenAPI 3.1 document, served at `GET /api/openapi.json`. A test holds it
/// to the routes the router actually registers, and schemathesis holds the answers to it.
/// Schemas name the fields clients rely on; answers may carry more.
enum AdminAPIDocument {
    /// The `/api` routes a router has, as OpenAPI writes paths (`{param}`), sorted.
    static func routes<Context>(of router: Router<Context>) -> [(method: String, path: String)] {
        router.routes.map { (method: $0.method.rawValue, path: $0.path.description) }
            .filter { $0.path.hasPrefix("/api/") }.sorted { ($0.path, $0.method) < ($1.path, $1.method) }
    }

    static let json: [UInt8] = {
        // Every value is made of dictionaries, arrays, strings, numbers and booleans.
        let data = try! JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .withoutEscapingSlashes])
        return Array(data)
    }()

    typealias Object = [String: Any]

    static var document: Object {
        [
            "openapi": "3.1.0",
            "info": [
                "title": "Strates admin API",
                "version": "1",
                "description":
                    "Budgets, limits, policies, grants, reserves, routes, usage, reports, feedback and outcomes. Every route but this document and the GitHub webhook needs an admin key; a team admin (an admin key bound to a team) sees and changes only its team's.",
            ],
            "security": [["adminKey": [String]()]],
            "paths": paths,
            "components": [
                "securitySchemes": ["adminKey": ["type": "http", "scheme": "bearer", "description": "A Strates admin key (sk-strates-…)."]],
                "schemas": schemas,
            ],
        ]
    }

    // MARK: Paths

    static var paths: Object {
        var paths: Object = [
            "/api/openapi.json": [
                "get": operation("This document.", tag: "meta", security: [], ok: ["type": "object", "required": ["openapi", "paths"]])
            ],
            "/api/usage": [
                "get": operation("Usage grouped and filtered.", tag: "usage", query: usageQuery, ok: ref("Usage"), text: ["text/csv", "text/plain"])
            ],
            "/api/routing": ["get": operation("Every route in force, with its deployments' health.", tag: "routing", ok: list(ref("RouteInForce")))],
            "/api/members/{member}/grants": [
                "get": operation("Where each of a member's grants stands.", tag: "grants", path: ["member"], ok: list(ref("GrantStatement")))
            ],
            "/api/grants/{rule}/statement": ["get": operation("Where a grant stands.", tag: "grants", path: ["rule"], ok: ref("GrantStatement"))],
            "/api/grants/{rule}/transfer": [
                "post": operation(
                    "Moves part of a grant to another member.", tag: "grants", path: ["rule"],
                    body: closed(["to": string, "amount_usd": amount, "amount_tokens": ["type": "integer"], "note": string], required: ["to"]),
                    status: "201", ok: ref("Transfer"))
            ],
            "/api/reserves/{rule}/status": ["get": operation("Where a production reserve stands.", tag: "reserves", path: ["rule"], ok: object)],
            "/api/reserve-status": ["get": operation("Where every production reserve stands.", tag: "reserves", ok: list(object))],
            "/api/feedback": [
                "get": operation(
                    "Feedback on a run or a request (give one).", tag: "feedback", query: [("run", string), ("request_id", string)], ok: list(ref("Feedback"))),
                "post": operation(
                    "Scores a request or a run.", tag: "feedback",
                    body: closed(["request_id": string, "run": string, "score": ["type": "number"], "source": string, "comment": string], required: ["score"]),
                    status: "201", ok: ref("Feedback")),
            ],
            "/api/outcomes": [
                "get": operation("What a run produced.", tag: "outcomes", query: [("run", string)], ok: list(ref("Outcome"))),
                "post": operation(
                    "Records what a run produced (once per run, kind and reference).", tag: "outcomes",
                    body: closed(
                        [
                            "run": string, "kind": ["type": "string", "enum": Outcome.Kind.allCases.map(\.rawValue)], "ref": string,
                            "quantity": ["type": "integer"],
                            "value_usd": amount, "at": string,
                        ],
                        required: ["run", "kind", "ref"]),
                    status: "201", ok: ref("Outcome"), also: ["200": response("Already recorded: the first one.", ref("Outcome"))]),
            ],
            "/api/outcomes/github": [
                "post": operation(
                    "GitHub's webhook (pull requests, deployments), signed with the configured secret.", tag: "outcomes", security: [],
                    headers: ["X-Hub-Signature-256", "X-GitHub-Event"], body: object, status: "202",
                    ok: ["type": "object", "required": ["recorded"], "properties": ["recorded": ["type": "integer"]]],
                    also: ["200": response("Delivery ignored, with the reason.", ["type": "object", "required": ["recorded"]])])
            ],
        ]
        paths["/api"] = ["get": operation("Every admin route.", tag: "meta", ok: list(ref("RouteEntry")))]
        for (path, item) in collection("budgets", noun: "budget", parameter: "budget", schema: "Budget", body: budgetBody) { paths[path] = item }
        for (path, item) in collection(RateLimit.collection, noun: "rate limit", schema: "RateLimit", body: ruleBody(RateLimit.fields)) { paths[path] = item }
        for (path, item) in collection(AccessPolicy.collection, noun: "access policy", schema: "AccessPolicy", body: ruleBody(AccessPolicy.fields)) {
            paths[path] = item
        }
        for (path, item) in collection(Grant.collection, noun: "grant", schema: "Grant", body: ruleBody(Grant.fields)) { paths[path] = item }
        for (path, item) in collection(ProductionReserve.collection, noun: "production reserve", schema: "Rule", body: ruleBody(ProductionReserve.fields)) {
            paths[path] = item
        }
        for (path, item) in collection(RouteDefinition.collection, noun: "route", schema: "Route", body: ruleBody(RouteDefinition.fields)) {
            paths[path] = item
        }
        let window: [(String, Object)] = [("since", string), ("until", string), ("format", ["type": "string", "enum": ["json", "csv"]])]
        let grouping: (String, Object) = ("by", ["type": "string", "enum": ["workflow", "team", "member", "model"]])
        let reports: [(String, String, [(String, Object)], [String])] = [
            ("workloads", "Runs by workload class and workflow.", window, ["since", "until", "lines"]),
            ("outcomes", "What runs produced, and what producing it cost.", window + [grouping], ["since", "until", "by", "runs", "kinds"]),
            ("efficiency", "Cost per outcome by group.", window + [grouping], ["since", "until", "by", "lines"]),
            ("anomalies", "Hours a team spent far above its baseline.", window, ["spikes"]),
            ("forecast", "Each budget's spend to the end of its period.", [window[2]], ["at", "budgets"]),
            ("routing", "Each route's traffic, fallbacks and savings.", window, ["since", "until", "routes"]),
            (
                "flow", "Spend by one or two dimensions over time.",
                window + [
                    ("by", string), ("top", ["type": "integer", "minimum": 1, "maximum": 1000]), ("trend", ["type": "string", "enum": ["day", "week"]]),
                ],
                []
            ),
            (
                "benefits", "Each member's grants over a period, as benefits.",
                [("period", string), ("time_zone", string), ("purpose", string), window[2]], ["period", "members", "totals"]
            ),
        ]
        for (name, summary, query, required) in reports {
            paths["/api/reports/\(name)"] = [
                "get": operation(summary, tag: "reports", query: query, ok: ["type": "object", "required": required], text: ["text/csv"])
            ]
        }
        return paths
    }

    /// The five routes of a stored kind: list, create, show, change (PUT and PATCH), delete.
    static func collection(_ name: String, noun: String, parameter: String = "rule", schema: String, body: Object) -> [String: Object] {
        [
            "/api/\(name)": [
                "get": operation("Every \(noun) this admin may see.", tag: name, ok: list(ref(schema))),
                "post": operation("Creates a \(noun).", tag: name, body: body, status: "201", ok: ref(schema)),
            ],
            "/api/\(name)/{\(parameter)}": [
                "get": operation("One \(noun), by id or name.", tag: name, path: [parameter], ok: ref(schema)),
                "put": operation("Changes a \(noun): the fields given.", tag: name, path: [parameter], body: body, ok: ref(schema)),
                "patch": operation("Changes a \(noun): the fields given.", tag: name, path: [parameter], body: body, ok: ref(schema)),
                "delete": operation("Deletes a \(noun).", tag: name, path: [parameter], ok: ref("Deleted")),
            ],
        ]
    }

    static func operation(
        _ summary: String, tag: String, security: [Object]? = nil, path: [String] = [], query: [(String, Object)] = [], headers: [String] = [],
        body: Object? = nil, status: String = "200", ok: Object, text: [String] = [], also: Object = [:]
    ) -> Object {
        var content: Object = ["application/json": ["schema": ok]]
        for type in text { content[type] = ["schema": ["type": "string"]] }
        var responses: Object = [
            status: ["description": "Done.", "content": content],
            "default": response("An error, in OpenAI's error format.", ref("Error")),
        ]
        responses.merge(also) { first, _ in first }
        var parameters: [Object] = path.map { ["name": $0, "in": "path", "required": true, "schema": ["type": "string", "minLength": 1]] }
        parameters += query.map { ["name": $0.0, "in": "query", "schema": $0.1] }
        parameters += headers.map { ["name": $0, "in": "header", "schema": ["type": "string"]] }
        var operation: Object = ["summary": summary, "tags": [tag], "responses": responses]
        if !parameters.isEmpty { operation["parameters"] = parameters }
        if let body { operation["requestBody"] = ["required": true, "content": ["application/json": ["schema": body]]] }
        if let security { operation["security"] = security }
        return operation
    }

    static func response(_ description: String, _ schema: Object) -> Object {
        ["description": description, "content": ["application/json": ["schema": schema]]]
    }

    static var usageQuery: [(String, Object)] {
        [("by", string), ("since", string), ("until", string), ("format", ["type": "string", "enum": ["json", "csv", "table"]])]
            + UsageDimension.allCases.map { ($0.rawValue, string) }
    }

    // MARK: Schemas

    static var string: Object { ["type": "string"] }
    static var optionalString: Object { ["type": ["string", "null"]] }
    static var optionalInteger: Object { ["type": ["integer", "null"]] }
    static var object: Object { ["type": "object"] }
    /// Dollars: a decimal string ("12.50") or a number.
    static var amount: Object { ["type": ["string", "number"]] }

    static func ref(_ name: String) -> Object { ["$ref": "#/components/schemas/\(name)"] }

    static func list(_ item: Object) -> Object {
        ["type": "object", "required": ["object", "data"], "properties": ["object": ["const": "list"], "data": ["type": "array", "items": item]]]
    }

    /// A request body of these fields and no others (the API refuses unknown fields).
    static func closed(_ properties: Object, required: [String] = []) -> Object {
        ["type": "object", "properties": properties, "required": required, "additionalProperties": false]
    }

    static func ruleBody(_ fields: Set<String>) -> Object {
        closed(Dictionary(uniqueKeysWithValues: fields.sorted().map { ($0, [String: Any]()) }))
    }

    static var budgetBody: Object {
        closed([
            "name": string, "scope": string, "period": string, "time_zone": string, "limit_usd": amount, "limit_tokens": ["type": "integer"],
            "enforcement": ["type": "string", "enum": ["hard", "soft"]], "when_exhausted": string,
            "alert_thresholds": ["type": "array", "items": ["type": "integer"]], "downgrade_to": optionalString, "downgrade_at": ["type": "integer"],
        ])
    }

    static func shape(_ required: [String], _ properties: Object, base: Object? = nil) -> Object {
        let own: Object = ["type": "object", "required": required, "properties": properties]
        guard let base else { return own }
        return ["allOf": [base, own]]
    }

    static var schemas: Object {
        let rule = ref("Rule")
        return [
            "Error": shape(
                ["error"],
                ["error": shape(["message", "type"], ["message": string, "type": string, "param": optionalString, "code": optionalString])]),
            "Deleted": shape(["id", "deleted"], ["id": string, "deleted": ["const": true]]),
            "RouteEntry": shape(["method", "path"], ["method": string, "path": string]),
            "Rule": shape(["id", "name", "scope", "created_at", "updated_at"], ["id": string, "name": string, "scope": string]),
            "Budget": shape(
                ["period", "unit", "limit", "enforcement", "status"],
                ["period": string, "unit": ["enum": ["usd", "tokens"]], "limit": ["type": "integer"], "enforcement": string, "status": object], base: rule),
            "RateLimit": shape(
                ["requests_per_minute", "tokens_per_minute", "max_concurrent_requests"],
                ["requests_per_minute": optionalInteger, "tokens_per_minute": optionalInteger, "max_concurrent_requests": optionalInteger], base: rule),
            "AccessPolicy": shape(
                ["allow_models", "deny_models"], ["allow_models": ["type": "array", "items": string], "deny_models": ["type": "array", "items": string]],
                base: rule),
            "Grant": shape(["member", "unit", "period", "purpose"], ["member": string, "unit": ["enum": ["usd", "tokens"]], "period": string], base: rule),
            "Route": shape(
                ["strategy", "retries", "deployments"], ["strategy": string, "retries": ["type": "integer"], "deployments": ["type": "array"]], base: rule),
            "RouteInForce": shape(
                ["name", "source", "strategy", "deployments"],
                ["name": string, "source": ["enum": ["api", "config"]], "strategy": string, "deployments": ["type": "array"]]),
            "GrantStatement": shape(
                ["grant", "name", "member", "unit", "state", "available", "used", "balance"],
                ["grant": string, "name": string, "member": string, "state": string, "available": string, "used": string, "balance": string]),
            "Transfer": shape(["object", "from", "to"], ["object": ["const": "grant.transfer"], "from": ref("Grant"), "to": ref("Grant")]),
            "Feedback": shape(
                ["id", "at", "request_id", "run", "score"],
                ["id": string, "at": string, "request_id": optionalString, "run": optionalString, "score": ["type": "number"]]),
            "Outcome": shape(
                ["id", "at", "run", "kind", "ref", "inferred", "source"],
                ["id": string, "at": string, "run": string, "kind": string, "ref": string, "quantity": optionalInteger, "inferred": ["type": "boolean"]]),
            "Usage": shape(["group_by", "rows", "total"], ["group_by": ["type": "array", "items": string], "rows": ["type": "array"], "total": object]),
        ]
    }
}
