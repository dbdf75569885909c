import ArgumentParser
import Foundation
import StratesCore
import StratesGateway
import StratesServer

extension StratesCommand {
    struct Demo: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Drive simulated agents through a running Strates so that every report has something to show.",
            discussion: """
                Start Strates first (strates serve, on the simulated provider when no provider keys are set); the demo uses
                the same database to create its members' keys (teams platform, data and web) and to record outcomes.
                It sends one-shot prompts, chains of human turns, autonomous tool loops with growing context and a
                subagent, and one runaway loop, then records commits and merges for some runs. About 80 requests.
                Then try: strates report workloads --since 1d, strates report flow --by team,workflow --since 1d,
                strates report outcomes --since 1d, strates report forecast.
                """
        )

        @OptionGroup var data: DataOptions
        @Option(help: "Where Strates listens.") var url: String = "http://127.0.0.1:7600"

        func run() async throws {
            let (configuration, ledger) = try data.openLedger(creating: true)
            var members: [DemoDriver.Member] = []
            for (team, name) in DemoDriver.roster {
                let (secret, key) = KeySecrets.makeKey(
                    name: "demo-\(name)", role: .gateway, organization: configuration.organization, team: team, member: name, service: nil,
                    environment: .production, workflow: nil, expiresAt: Date().addingTimeInterval(86_400)
                )
                try await ledger.ensure(organization: configuration.organization, team: team, member: name, service: nil)
                try await ledger.insert(key)
                members.append(.init(team: team, name: name, secret: secret))
            }
            print("Driving simulated agents through \(url) (keys for \(members.map { "\($0.team)/\($0.name)" }.joined(separator: ", ")), valid one day).")
            let driver = DemoDriver(url: url, members: members, ledger: ledger, label: KeySecrets.randomHex(3))
            let summary: DemoDriver.Summary
            do {
                summary = try await driver.run { print("  \($0)") }
            } catch {
                throw CommandFailure(description: "\(error)")
            }
            // The gateway writes its ledger in batches (every 200 ms by default): let the last ones land.
            try await Task.sleep(for: .seconds(1))
            print("Done: \(summary.requests) requests in \(summary.runs) runs (\(summary.refused) refused), \(summary.outcomes) outcomes recorded.")
            print("Now try:")
            for command in [
                "report workloads --since 1d", "report flow --by team,workflow --since 1d", "report outcomes --since 1d", "report forecast",
                "usage --by team,model",
            ] {
                print("  strates \(command)")
            }
        }
    }
}
