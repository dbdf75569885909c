import ArgumentParser
import Foundation
import StratesCore
import StratesGateway
import StratesWire

extension StratesCommand {
    struct Routes: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Routes (aliases and their deployments): list, set, show and delete those stored in the ledger, and test a request's routing.",
            subcommands: [List.self, Set.self, ShowRule<RouteDefinition>.self, DeleteRule<RouteDefinition>.self, Test.self]
        )

        struct Test: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Print the routing decision for a request body, and the rule that made it.",
                discussion: """
                    Attribution comes from --team, --member, --environment and the x-strates-* headers, as the gateway
                    reads them. Deployments are listed in the route's strategy order (without live health or latency).
                    Examples:
                      strates routes test request.json --header 'x-strates-process: planner' --team platform
                      strates routes test messages.json --api messages --environment sandbox --format json
                    """
            )

            @OptionGroup var data: DataOptions
            @Argument(help: "A file holding the request body (JSON), or - to read it from standard input.") var file: String
            @Option(help: "chat_completions (default), responses, messages or embeddings.") var api: String = "chat_completions"
            @Option(name: .customLong("header"), help: "A request header, 'Name: value'; repeat for more.") var headers: [String] = []
            @Option(help: "The key's team.") var team: String?
            @Option(help: "The key's member.") var member: String?
            @Option(help: "The key's service (instead of a member).") var service: String?
            @Option(help: "The key's environment: production, sandbox or personal.") var environment: String = "production"
            @Option(help: "table or json.") var format: String = "table"

            func run() async throws {
                guard let apiKind = APIKind(rawValue: api), apiKind != .countTokens else {
                    throw ValidationError("--api must be chat_completions, responses, messages or embeddings")
                }
                guard let keyEnvironment = Environment(rawValue: environment) else {
                    throw ValidationError("--environment must be production, sandbox or personal")
                }
                let read = file == "-" ? FileHandle.standardInput.readDataToEndOfFile() : FileManager.default.contents(atPath: file)
                guard let body = read else { throw ValidationError("cannot read \(file)") }
                let bytes = Array(body)
                let summary: RequestSummary
                do {
                    summary = try RequestSummary.inspect(bytes, api: apiKind)
                } catch {
                    throw CommandFailure(description: "the request body is not valid: \(error.message)")
                }
                let parsedHeaders = try headers.map { text -> (name: String, value: String) in
                    guard let colon = text.firstIndex(of: ":") else { throw ValidationError("--header must be 'Name: value' (got '\(text)')") }
                    return (
                        text[..<colon].trimmingCharacters(in: .whitespaces).lowercased(), text[text.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                    )
                }
                let configuration = try data.load()
                let key = APIKey(
                    id: "key_test", hash: "", prefix: "", name: nil, role: .gateway, organization: configuration.organization, team: team,
                    member: member, service: service, environment: keyEnvironment, workflow: nil, createdAt: Date(), expiresAt: nil
                )
                let attribution = AttributionResolver.resolve(key: key, headers: parsedHeaders, summary: summary)
                let features = RequestFeatures(
                    model: summary.model, attribution: attribution, inputTokens: summary.estimatedInputTokens, maxTokens: summary.maxTokens,
                    hasTools: summary.hasTools, reasoning: summary.reasoning, hasImages: { RequestSummary.mentionsImages(bytes) }
                )
                let router = ModelRouter(routes: configuration.models, providers: [], rules: configuration.routingRules)
                let decision = router.decide(features, anyProvider: true)
                var (route, rule) = (decision?.route, decision?.rule)
                var random = SystemRandomNumberGenerator()
                var requested = summary.model
                var autoLines: [String] = []
                var autoJSON = "null"
                if let alias = route, var policy = alias.auto {
                    // The choice without exploration: what the policy picks on what the ledger holds now.
                    let profile = TaskProfile.classify(features)
                    let (_, ledger) = try data.openLedger()
                    let book = try await ledger.tierRecords(since: Date() - 30 * 86_400)
                    let records = book.records(on: profile, tiers: policy.tiers)
                    policy.exploration = 0
                    guard let choice = router.chooseTier(policy, of: alias, profile: profile, book: book, random: &random) else {
                        throw CommandFailure(description: "no tier of '\(alias.pattern)' is served by a configured route")
                    }
                    let standing = policy.tiers.map { tier in
                        let record = records[tier] ?? TierRecord()
                        return "\(tier) \(record.samples > 0 ? "\(Int((record.successRate * 100).rounded()))% over \(record.samples)" : "no scores")"
                    }
                    autoLines = [
                        "auto:      \(alias.pattern): task class \(profile.text); \(standing.joined(separator: ", "))",
                        "           → \(choice.tier): \(choice.reason) (\(Int((alias.auto?.exploration ?? 0) * 100))% of requests explore a cheaper tier)",
                    ]
                    autoJSON =
                        #"{"alias":\#(JSONText.quote(alias.pattern)),"task_class":\#(JSONText.quote(profile.text)),"tier":\#(JSONText.quote(choice.tier)),"reason":\#(JSONText.quote(choice.reason)),"baseline":\#(choice.baseline.map(JSONText.quote) ?? "null")}"#
                    (route, requested) = (choice.route, choice.tier)
                }
                let ordered = route.map { RoutePlanner.order($0, requested: requested, standings: [:], now: Date(), random: &random) } ?? []
                let kinds = Dictionary(configuration.providers.map { ($0.name, $0.kind) }, uniquingKeysWith: { first, _ in first })
                let speaks = { (deployment: Deployment) in kinds[deployment.provider]?.supports(apiKind) ?? false }

                if format == "json" {
                    let deployments = ordered.map { #"{"deployment":\#(JSONText.quote($0.name(for: requested))),"speaks_api":\#(speaks($0))}"# }
                    print(
                        #"{"model":\#(JSONText.quote(summary.model)),"rule":\#(rule.map { JSONText.quote($0.name) } ?? "null"),"auto":\#(autoJSON),"route":\#(route.map { JSONText.quote($0.pattern) } ?? "null"),"strategy":\#(route.map { JSONText.quote($0.strategy.rawValue) } ?? "null"),"deployments":[\#(deployments.joined(separator: ","))]}"#
                    )
                    return
                }
                let who = [
                    ("team", attribution.team), ("member", attribution.member), ("service", attribution.service),
                    ("environment", attribution.environment.rawValue),
                    ("workflow", attribution.workflow), ("process", attribution.process), ("run", attribution.run),
                ]
                .compactMap { name, value in value.map { "\(name)=\($0)" } }.joined(separator: " ")
                print(
                    "request:   model \(summary.model), ~\(summary.estimatedInputTokens) input tokens, max_tokens \(summary.maxTokens.map(String.init) ?? "-"), tools \(summary.hasTools ? "yes" : "no"), reasoning \(summary.reasoning ?? "none")"
                )
                print("from:      \(who)")
                if let rule {
                    print("rule:      \(rule.name) (\(rule.summary))")
                } else {
                    print("rule:      none matched (\(configuration.routingRules.count) rule(s)); the model's own route")
                }
                guard let route else {
                    print("route:     none: no route serves '\(summary.model)' (configured: \(configuration.models.map(\.pattern).joined(separator: ", ")))")
                    throw ExitCode(1)
                }
                for line in autoLines { print(line) }
                print("route:     \(route.pattern) (\(route.strategy.rawValue), retries \(route.retries))")
                for (index, deployment) in ordered.enumerated() {
                    print(
                        "  \(index + 1). \(deployment.name(for: requested))\(speaks(deployment) ? "" : "  (skipped: its provider does not speak \(apiKind.rawValue))")"
                    )
                }
            }
        }
    }
}
