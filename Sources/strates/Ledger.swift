import ArgumentParser
import Foundation
import StratesCore

extension StratesCommand {
    struct Ledger: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Maintain the ledger database.",
            subcommands: [Init.self, RebuildRollups.self]
        )

        struct Init: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Create an empty ledger, or bring an existing one up to the current schema.",
                discussion: """
                    Commands that only read or change a ledger refuse a path where there is none, so a mistyped
                    --database never quietly starts an empty ledger. This is the explicit way to make one.
                    Example: strates ledger init --database strates.db
                    """
            )

            @OptionGroup var data: DataOptions

            func run() async throws {
                let (configuration, _) = try data.openLedger(creating: true)
                print("The ledger at \(configuration.databasePath) is ready.")
            }
        }

        struct RebuildRollups: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "rebuild-rollups",
                abstract: "Build the report and budget rollups again from the requests, and profile every run.",
                discussion: """
                    Strates keeps its rollups (usage per hour and attribution, totals per run, run profiles) as it writes
                    the ledger, so this is never needed in normal use. Run it after writing requests into the database by
                    other means; it is safe at any time, while a server runs too. Reports are exact either way: a run
                    profile missing or made under other rules is made when a report first needs it.
                    Example: strates ledger rebuild-rollups --database strates.db
                    """
            )

            @OptionGroup var data: DataOptions

            func run() async throws {
                let (configuration, ledger) = try data.openLedger()
                let started = Date()
                let requests = try await ledger.rebuildRollups()
                let summed = Date()
                let runs = try await ledger.refreshProfiles(rules: configuration.workloads)
                print(
                    "Rollups cover \(requests) request(s) (\(String(format: "%.1f", summed.timeIntervalSince(started))) s); \(runs) run profile(s) made (\(String(format: "%.1f", Date().timeIntervalSince(summed))) s)."
                )
            }
        }
    }
}
