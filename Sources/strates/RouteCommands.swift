import ArgumentParser
import Foundation
import StratesCore
import StratesLedger
import StratesServer

extension StratesCommand.Routes {
    /// Every route in force, in the order the gateway tries them: the API's, then the file's.
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list", abstract: "List the routes in force: those set with 'strates routes set' or the API first, then the configuration's.")

        @OptionGroup var data: DataOptions
        @Option(help: "table or json.") var format: String = "table"

        func run() async throws {
            let (configuration, ledger) = try data.openLedger()
            let defined = try await ledger.rules(RouteDefinition.self)
            if format == "json" {
                print(APIJSON.lines(defined))
                return
            }
            let rows =
                defined.map { [$0.name, "api", $0.summary] }
                + configuration.models.map { route in
                    [route.pattern, "config", RouteDefinition(id: "", route: route).summary]
                }
            TextTable.print([["name", "source", "route"]] + rows)
        }
    }

    /// Creates or changes a route stored in the ledger (as `POST /api/routes` does).
    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set",
            abstract: "Create a route (an alias and its deployments), or change the one with this name; a running gateway applies it within seconds.",
            discussion: """
                Deployments are PROVIDER/MODEL, optionally with a weight after '*': openai/gpt-4.1-mini*3. The providers
                must be configured (credentials stay in the configuration file). A route set here is tried before
                the configuration's, so it may override one of the same name.
                Examples:
                  strates routes set fast --deployments openai/gpt-4.1-mini,sim/gpt-4.1-mini --retries 1
                  strates routes set smart --strategy weighted --deployments 'openai/gpt-4.1*3,azure/gpt-4.1*1'
                  strates routes set fast --max-input-price 1
                """
        )

        @OptionGroup var data: DataOptions
        @Argument(help: "What clients ask for: an alias such as fast, or a model name.") var name: String
        @Option(help: "PROVIDER/MODEL[*WEIGHT], comma-separated, in order.") var deployments: String?
        @Option(help: "fallback, weighted, least-latency or lowest-cost.") var strategy: String?
        @Option(help: "Tries again on the same deployment before the next (0-10).") var retries: String?
        @Option(help: "Highest list price in dollars per million input tokens ('none' clears it).") var maxInputPrice: String?
        @Option(help: "Highest list price in dollars per million output tokens ('none' clears it).") var maxOutputPrice: String?

        func run() async throws {
            var fields: [String: Any] = [:]
            if let deployments {
                fields["deployments"] = try deployments.split(separator: ",").map { item -> [String: Any] in
                    let text = item.trimmingCharacters(in: .whitespaces)
                    let (target, weight) =
                        text.split(separator: "*").count == 2
                        ? (String(text.split(separator: "*")[0]), Int(text.split(separator: "*")[1]))
                        : (text, 1)
                    guard let slash = target.firstIndex(of: "/"), let weight else {
                        throw ValidationError("--deployments takes PROVIDER/MODEL[*WEIGHT] items (got '\(text)')")
                    }
                    return ["provider": String(target[..<slash]), "model": String(target[target.index(after: slash)...]), "weight": weight]
                }
            }
            if let strategy { fields["strategy"] = strategy }
            if let retries { fields["retries"] = retries }
            if let value = RuleCommands.field(maxInputPrice) { fields["max_input_usd_per_mtok"] = value }
            if let value = RuleCommands.field(maxOutputPrice) { fields["max_output_usd_per_mtok"] = value }
            let configuration = try data.load()
            let providers = Swift.Set(configuration.providers.map(\.name))
            if let list = fields["deployments"] as? [[String: Any]] {
                let unknown = list.compactMap { $0["provider"] as? String }.filter { !providers.contains($0) }
                guard unknown.isEmpty else {
                    throw CommandFailure(
                        description:
                            "\(unknown.map { "'\($0)'" }.joined(separator: ", ")) is not a configured provider (have: \(providers.sorted().joined(separator: ", ")))"
                    )
                }
            }
            try await RuleCommands.set(RouteDefinition.self, name: name, fields: fields, data: data)
        }
    }
}
