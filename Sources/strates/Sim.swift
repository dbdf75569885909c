import ArgumentParser
import Foundation
import StratesProviders
import StratesServer

extension StratesCommand {
    struct Sim: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The simulated provider.", subcommands: [Serve.self])

        struct Serve: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Serve the simulated provider on its own, as a stand-in OpenAI/Anthropic upstream (no auth). GET /sim/served lists what it answered."
            )

            @Option var host = "127.0.0.1"
            @Option(help: "Port; 0 picks a free one.") var port = 7700
            @Option(help: "Delay before the response head.") var latencyMs = 0
            @Option(help: "Extra delay before the first token of a stream.") var ttftMs = 0
            @Option(help: "Generation speed for streams; 0 is unlimited.") var tokensPerSecond = 0
            @Option var outputTokensMin = 16
            @Option var outputTokensMax = 256
            @Option(help: "uniform, fixed or lognormal.") var outputDistribution = "uniform"
            @Option(help: "Median (lognormal) or value (fixed); default: the middle of the range.") var outputTokensMean: Int?

            func run() async throws {
                var settings = SimSettings()
                settings.latencyMs = latencyMs
                settings.timeToFirstTokenMs = ttftMs
                settings.tokensPerSecond = tokensPerSecond
                settings.outputTokensMin = outputTokensMin
                settings.outputTokensMax = max(outputTokensMin, outputTokensMax)
                guard let distribution = OutputDistribution(rawValue: outputDistribution) else {
                    throw ValidationError("--output-distribution must be one of \(OutputDistribution.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                settings.outputDistribution = distribution
                settings.outputTokensMean = outputTokensMean
                try await SimServe.run(host: host, port: port, settings: settings, logger: CommandLogger.make(level: "warning"))
            }
        }
    }
}
