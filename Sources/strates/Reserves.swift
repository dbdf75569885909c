import ArgumentParser
import Foundation
import StratesCore
import StratesLedger

extension StratesCommand {
    struct Reserves: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Set, list, show and delete production reserves: organization capacity kept for production, with personal and then sandbox traffic throttled first.",
            subcommands: [SetReserve.self, ListRules<ProductionReserve>.self, ShowRule<ProductionReserve>.self, DeleteRule<ProductionReserve>.self]
        )

        struct SetReserve: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "set",
                abstract: "Create a production reserve, or change the one with this name (only the options given change).",
                discussion: """
                    A reserve's capacity is spend per period (--capacity-usd with --period) or tokens per minute
                    (--capacity-tpm, optionally only on one --provider, e.g. your provider account's rate limit).
                    Production is never refused by a reserve; sandbox traffic is refused past --sandbox-until percent of
                    the capacity (default 100 - production share) and personal traffic past --personal-until (default
                    10 points lower), so personal use is throttled first.
                    Examples:
                      strates reserves set acme-spend --capacity-usd 20000 --period month --production-share 30
                      strates reserves set openai-tpm --capacity-tpm 2000000 --provider openai --production-share 40 --personal-until 40
                    Where a reserve stands on the running gateway: GET /api/reserves/NAME/status.
                    """
            )

            @OptionGroup var data: DataOptions
            @Argument(help: "The reserve's name (unique).") var name: String
            @Option(help: "organization:NAME (default: the configuration's organization).") var scope: String?
            @Option(help: "Spend capacity in dollars per period.") var capacityUsd: String?
            @Option(help: "day, week or month (spend capacity; default month).") var period: String?
            @Option(help: "IANA time zone in which periods start (default UTC).") var timeZone: String?
            @Option(help: "Token capacity per minute.") var capacityTpm: String?
            @Option(help: "Count only traffic served by this provider (token capacity; 'none' for all).") var provider: String?
            @Option(help: "Percent of capacity kept for production (default 30).") var productionShare: String?
            @Option(help: "Percent of capacity past which sandbox traffic is refused.") var sandboxUntil: String?
            @Option(help: "Percent of capacity past which personal traffic is refused.") var personalUntil: String?

            func run() async throws {
                let (configuration, ledger) = try data.openLedger(creating: true)
                let exists = try await ledger.rules(ProductionReserve.self).named(name) != nil
                let fields: [String: Any?] = [
                    "scope": scope ?? (exists ? nil : "organization:\(configuration.organization)"), "capacity_usd": capacityUsd, "period": period,
                    "time_zone": timeZone,
                    "capacity_tpm": capacityTpm, "provider": provider.map { $0.lowercased() == "none" ? "" : $0 },
                    "production_share": productionShare, "sandbox_until": sandboxUntil, "personal_until": personalUntil,
                ]
                try await RuleCommands.set(ProductionReserve.self, name: name, fields: fields.compactMapValues { $0 }, data: data)
            }
        }
    }
}
