import ArgumentParser
import Foundation
import StratesCore
import StratesGateway
import StratesLedger
import StratesServer

/// The commands `strates limits` and `strates policies` share: list, show, delete, and
/// saving a rule from flags turned into the admin API's JSON fields (one parser for both).
enum RuleCommands {
    /// Creates the rule named `name`, or changes it (only the fields given change).
    static func set<Rule: ManagedRule>(_ type: Rule.Type, name: String, fields: [String: Any], data: DataOptions) async throws {
        let (_, ledger) = try data.openLedger(creating: true)
        let current = try await ledger.rules(Rule.self).named(name)
        var object = fields
        object["name"] = current?.name ?? name
        var parsed = RuleFields(object, known: Rule.fields)
        let rule: Rule
        do {
            rule = try Rule.make(from: &parsed, current: current, id: current?.id ?? "\(Rule.kind)_" + KeySecrets.randomHex(8), now: Date())
        } catch {
            throw CommandFailure(description: "the \(Rule.noun) is not valid: \(error)")
        }
        try await ledger.save(rule: rule)
        print("\(current == nil ? "Created" : "Updated") \(Rule.noun) '\(rule.name)' (\(rule.id)): \(rule.summary).")
    }

    /// A flag's value as a JSON field: absent, `none` (clear it), or the text.
    static func field(_ value: String?) -> Any? {
        guard let value else { return nil }
        return value.lowercased() == "none" ? NSNull() : value
    }

    static func list<Rule: ManagedRule>(_ type: Rule.Type, format: String, data: DataOptions) async throws {
        let (_, ledger) = try data.openLedger()
        let rules = try await ledger.rules(Rule.self)
        if format == "json" {
            print(APIJSON.lines(rules))
            return
        }
        guard !rules.isEmpty else {
            print("No \(Rule.collection). Create one with 'strates \(Rule.collection) set NAME --scope team:NAME ...' (see --help).")
            return
        }
        TextTable.print([["name", "id", "rule"]] + rules.map { [$0.name, $0.id, $0.summary] })
    }

    static func show<Rule: ManagedRule>(_ type: Rule.Type, name: String, data: DataOptions) async throws {
        let (_, ledger) = try data.openLedger()
        guard let rule = try await ledger.rules(Rule.self).named(name) else {
            throw notFound(Rule.self, name)
        }
        print(APIJSON.text(rule))
    }

    static func delete<Rule: ManagedRule>(_ type: Rule.Type, name: String, data: DataOptions) async throws {
        let (_, ledger) = try data.openLedger()
        guard try await ledger.deleteRule(Rule.self, name) else { throw notFound(Rule.self, name) }
        print("Deleted \(Rule.noun) '\(name)'.")
    }

    static func notFound<Rule: ManagedRule>(_ type: Rule.Type, _ name: String) -> CommandFailure {
        CommandFailure(description: "no \(Rule.noun) with name or id '\(name)' (see 'strates \(Rule.collection) list')")
    }
}

struct ListRules<Rule: ManagedRule>: AsyncParsableCommand {
    static var configuration: CommandConfiguration { CommandConfiguration(commandName: "list", abstract: "List \(Rule.collection).") }

    @OptionGroup var data: DataOptions
    @Option(help: "table or json.") var format: String = "table"

    func run() async throws { try await RuleCommands.list(Rule.self, format: format, data: data) }
}

struct ShowRule<Rule: ManagedRule>: AsyncParsableCommand {
    static var configuration: CommandConfiguration { CommandConfiguration(commandName: "show", abstract: "Show one \(Rule.noun) as JSON.") }

    @OptionGroup var data: DataOptions
    @Argument(help: "Its name or id.") var name: String

    func run() async throws { try await RuleCommands.show(Rule.self, name: name, data: data) }
}

struct DeleteRule<Rule: ManagedRule>: AsyncParsableCommand {
    static var configuration: CommandConfiguration { CommandConfiguration(commandName: "delete", abstract: "Delete a \(Rule.noun) by name or id.") }

    @OptionGroup var data: DataOptions
    @Argument(help: "Its name or id.") var name: String

    func run() async throws { try await RuleCommands.delete(Rule.self, name: name, data: data) }
}

extension StratesCommand {
    struct Limits: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Set, list, show and delete rate limits (requests/tokens per minute, concurrent requests). A running gateway applies changes within seconds.",
            subcommands: [SetLimit.self, ListRules<RateLimit>.self, ShowRule<RateLimit>.self, DeleteRule<RateLimit>.self]
        )

        struct SetLimit: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "set",
                abstract: "Create a rate limit, or change the one with this name (only the options given change; 'none' clears one).",
                discussion: """
                    Examples:
                      strates limits set ana-pace --scope member:ana --rpm 60 --tpm 200000
                      strates limits set ci-bot --scope key:key_0123abcd --concurrency 4
                      strates limits set platform --scope team:platform --rpm 600 --tpm none
                    """
            )

            @OptionGroup var data: DataOptions
            @Argument(help: "The limit's name (unique).") var name: String
            @Option(help: "Who it applies to: key:KEY_ID, member:NAME, team:NAME (also organization:, workflow:, environment:).") var scope: String?
            @Option(help: "Requests per minute.") var rpm: String?
            @Option(help: "Tokens per minute (input estimate plus max tokens at admission, corrected to actual usage).") var tpm: String?
            @Option(help: "Requests in flight at once (a stream counts until it ends).") var concurrency: String?

            func run() async throws {
                let fields: [String: Any?] = [
                    "scope": scope, "requests_per_minute": RuleCommands.field(rpm), "tokens_per_minute": RuleCommands.field(tpm),
                    "max_concurrent_requests": RuleCommands.field(concurrency),
                ]
                try await RuleCommands.set(RateLimit.self, name: name, fields: fields.compactMapValues { $0 }, data: data)
            }
        }
    }

    struct Policies: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set, list, show and delete model access policies (allowed and denied models, price and context ceilings).",
            subcommands: [SetPolicy.self, ListRules<AccessPolicy>.self, ShowRule<AccessPolicy>.self, DeleteRule<AccessPolicy>.self]
        )

        struct SetPolicy: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "set",
                abstract: "Create a policy, or change the one with this name (only the options given change; 'none' clears one).",
                discussion: """
                    Patterns match the requested model, the model serving it and provider/model; '*' matches any run
                    of characters. A request must pass every policy on its team, member, key, environment, ....
                    Examples:
                      strates policies set contractors --scope team:contractors --allow 'claude-haiku-*,gpt-5-mini'
                      strates policies set personal-cheap --scope environment:personal --max-output-price 15 --max-context-tokens 200000
                      strates policies set no-opus --scope team:platform --deny '*opus*'
                    """
            )

            @OptionGroup var data: DataOptions
            @Argument(help: "The policy's name (unique).") var name: String
            @Option(help: "Who it applies to: team:NAME, member:NAME, key:KEY_ID, environment:production|sandbox|personal (also organization:, workflow:).")
            var scope: String?
            @Option(help: "Allowed model patterns, comma-separated (empty allows every model).") var allow: String?
            @Option(help: "Denied model patterns, comma-separated.") var deny: String?
            @Option(help: "Highest list price in dollars per million input tokens.") var maxInputPrice: String?
            @Option(help: "Highest list price in dollars per million output tokens.") var maxOutputPrice: String?
            @Option(help: "Largest request input, in (estimated) tokens.") var maxContextTokens: String?

            func run() async throws {
                let fields: [String: Any?] = [
                    "scope": scope, "allow_models": RuleCommands.field(allow), "deny_models": RuleCommands.field(deny),
                    "max_input_usd_per_mtok": RuleCommands.field(maxInputPrice), "max_output_usd_per_mtok": RuleCommands.field(maxOutputPrice),
                    "max_context_tokens": RuleCommands.field(maxContextTokens),
                ]
                try await RuleCommands.set(AccessPolicy.self, name: name, fields: fields.compactMapValues { $0 }, data: data)
            }
        }
    }
}
