import ArgumentParser
import Foundation
import StratesCore
import StratesGateway
import StratesLedger
import StratesServer

extension StratesCommand {
    struct Budgets: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set, list, show and delete budgets. A running gateway applies changes within seconds.",
            subcommands: [SetBudget.self, List.self, Show.self, Delete.self]
        )

        static func notFound(_ budget: String) -> CommandFailure {
            CommandFailure(description: "no budget with name or id '\(budget)' (see 'strates budgets list')")
        }

        struct SetBudget: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "set",
                abstract: "Create a budget, or change the one with this name (only the options given change).",
                discussion: """
                    Examples:
                      strates budgets set platform-monthly --scope team:platform --period month --limit-usd 500
                      strates budgets set ana-daily --scope member:ana --period day --limit-tokens 2000000 --when-exhausted cap
                      strates budgets set sandbox-week --scope environment:sandbox --period rolling:7d --limit-usd 50 --soft
                      strates budgets set research --scope team:research --limit-usd 300 --downgrade-to gpt-4o-mini --downgrade-at 80
                    """
            )

            @OptionGroup var data: DataOptions
            @Argument(help: "The budget's name (unique).") var name: String
            @Option(help: "Who it applies to: organization:NAME, team:NAME, member:NAME, key:KEY_ID, workflow:NAME or environment:production|sandbox|personal.")
            var scope: String?
            @Option(help: "day, week, month, total or rolling:Nd (default month).") var period: String?
            @Option(help: "IANA time zone in which periods start (default UTC).") var timeZone: String?
            @Option(help: "The limit in dollars, e.g. 500 or 12.50.") var limitUsd: String?
            @Option(help: "The limit in tokens (input, cache and output tokens together).") var limitTokens: Int64?
            @Flag(help: "Alert only; never refuse (a soft budget).") var soft = false
            @Flag(help: "Refuse or cap requests it cannot cover (the default).") var hard = false
            @Option(help: "What a hard budget does with a request it cannot cover: reject, or cap its max output tokens.") var whenExhausted: String?
            @Option(help: "Alert thresholds in percent, e.g. 50,80,100.") var alerts: String?
            @Option(help: "A cheaper model requests move to as the budget nears exhaustion ('none' removes it).") var downgradeTo: String?
            @Option(help: "How full the budget must be, in percent, before requests move to --downgrade-to (default 80).") var downgradeAt: Int?

            func run() async throws {
                let (_, ledger) = try data.openLedger(creating: true)
                var changes = BudgetChanges()
                changes.name = name
                changes.scope = scope
                changes.period = period
                changes.timeZone = timeZone
                changes.limitUSD = limitUsd
                changes.limitTokens = limitTokens
                if soft && hard { throw ValidationError("--soft and --hard exclude each other") }
                changes.enforcement = soft ? "soft" : hard ? "hard" : nil
                changes.whenExhausted = whenExhausted
                changes.downgradeTo = downgradeTo
                changes.downgradeAtPercent = downgradeAt
                if let alerts {
                    let parts = alerts.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
                    guard parts.allSatisfy({ $0 != nil }) else { throw ValidationError("--alerts must be percentages like 50,80,100") }
                    changes.alertThresholds = parts.compactMap { $0 }
                }
                let current = try await ledger.budgets().named(name)
                let budget: Budget
                do {
                    budget = try changes.apply(to: current, id: current?.id ?? "bud_" + KeySecrets.randomHex(8), now: Date())
                } catch {
                    throw CommandFailure(description: "the budget is not valid: \(error)")
                }
                try await ledger.save(budget)
                print(
                    "\(current == nil ? "Created" : "Updated") budget '\(budget.name)' (\(budget.id)): \(budget.scope.text), \(budget.format(budget.limit)) per \(budget.period.text), \(budget.enforcement.rawValue)\(budget.enforcement == .hard ? " (\(budget.whenExhausted.rawValue))" : "")\(budget.downgradeTo.map { ", downgrading to \($0) at \(budget.downgradeAtPercent)%" } ?? "")."
                )
            }
        }

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List budgets with what each has spent in its current period.")

            @OptionGroup var data: DataOptions
            @Option(help: "table or json.") var format: String = "table"

            func run() async throws {
                let (_, ledger) = try data.openLedger()
                let budgets = try await ledger.budgets()
                let standings = try await InProcessBudgetCounters(store: ledger).standings(of: budgets, at: Date())
                if format == "json" {
                    print(APIJSON.lines(zip(budgets, standings).map(BudgetBody.init)))
                    return
                }
                guard !budgets.isEmpty else {
                    print("No budgets. Create one with: strates budgets set NAME --scope team:NAME --period month --limit-usd 500")
                    return
                }
                var rows = [["name", "scope", "period", "limit", "spent", "used", "enforcement", "resets"]]
                for (budget, standing) in zip(budgets, standings) {
                    rows.append([
                        budget.name, budget.scope.text, budget.period.text, budget.format(budget.limit), budget.format(standing.spent),
                        Self.percent(standing), budget.enforcement == .hard ? "hard (\(budget.whenExhausted.rawValue))" : "soft",
                        standing.window.end.map(BudgetText.timestamp) ?? "never",
                    ])
                }
                TextTable.print(rows)
            }

            static func percent(_ standing: BudgetStanding) -> String {
                let tenths = Int64((Double(standing.spent) * 1000 / Double(max(1, standing.budget.limit))).rounded())
                return "\(tenths / 10).\(tenths % 10)%"
            }
        }

        struct Show: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Show one budget and where it stands (as JSON).")

            @OptionGroup var data: DataOptions
            @Argument(help: "The budget's name or id.") var budget: String

            func run() async throws {
                let (_, ledger) = try data.openLedger()
                guard let found = try await ledger.budgets().named(budget) else {
                    throw Budgets.notFound(budget)
                }
                let standing = try await InProcessBudgetCounters(store: ledger).standings(of: [found], at: Date()).first
                print(APIJSON.text(BudgetBody(found, standing: standing)))
            }
        }

        struct Delete: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Delete a budget by name or id.")

            @OptionGroup var data: DataOptions
            @Argument(help: "The budget's name or id.") var budget: String

            func run() async throws {
                let (_, ledger) = try data.openLedger()
                guard try await ledger.deleteBudget(budget) else { throw Budgets.notFound(budget) }
                print("Deleted budget '\(budget)'.")
            }
        }
    }
}
