import ArgumentParser

@main
struct StratesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "strates",
        abstract: "The token-economics control layer: an LLM gateway with a usage ledger.",
        subcommands: [
            Serve.self, Config.self, Keys.self, Budgets.self, Grants.self, Limits.self, Policies.self, Reserves.self, Routes.self, Usage.self, Report.self,
            Import.self, Reconcile.self, Outcomes.self, Demo.self, Prices.self, Sim.self, Ledger.self,
        ]
    )
}
