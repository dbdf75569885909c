import ArgumentParser
import Foundation
import StratesCore
import StratesLedger
import StratesServer

extension StratesCommand {
    struct Prices: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Keep model prices current.", subcommands: [Import.self, Show.self])

        struct Import: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Import prices in LiteLLM's model_prices_and_context_window.json format.")

            @OptionGroup var data: DataOptions
            @Argument(help: "The JSON file.") var file: String
            @Option(help: "The day the prices apply from (2026-11-01). Default: today.") var effective: String?

            func run() async throws {
                guard let contents = FileManager.default.contents(atPath: file) else { throw CommandFailure(description: "cannot read '\(file)'") }
                var effectiveFrom = Calendar(identifier: .gregorian).startOfDay(for: Date())
                if let effective {
                    let formatter = ISO8601DateFormatter()
                    formatter.formatOptions = [.withFullDate]
                    guard let date = formatter.date(from: effective) else { throw ValidationError("--effective must be a date like 2026-11-01") }
                    effectiveFrom = date
                }
                let result: LiteLLMPrices.Result
                do {
                    result = try LiteLLMPrices.parse(contents, effectiveFrom: effectiveFrom)
                } catch {
                    throw CommandFailure(description: "\(file): \(error)")
                }
                let (_, ledger) = try data.openLedger(creating: true)
                try await ledger.insert(result.prices)
                print("Imported \(result.prices.count) prices from \(file); skipped \(result.skipped.count) entries without token prices.")
                print("A running gateway uses them after its next restart.")
            }
        }

        struct Show: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Show the price in force for a model (USD per million tokens).")

            @OptionGroup var data: DataOptions
            @Argument(help: "The model name.") var model: String
            @Option(help: "The provider (openai, anthropic, …).") var provider: String = ""

            func run() async throws {
                let (configuration, ledger) = try data.openLedger()
                let catalog = try await StratesRuntime.catalog(configuration: configuration, store: ledger)
                guard let price = catalog.price(provider: provider, model: model) else {
                    throw CommandFailure(
                        description: "no price known for '\(model)': its cost is recorded as unknown. Import prices with 'strates prices import'.")
                }
                func usd(_ rate: TokenRate?) -> String {
                    rate.map { "$" + NanoUSD($0.nanoPerMillion).dollars.replacingOccurrences(of: #"0+$"#, with: "", options: .regularExpression) } ?? "-"
                }
                print("\(price.provider)/\(price.model) (\(price.source), from \(ISO8601DateFormatter().string(from: price.effectiveFrom).prefix(10)))")
                print(
                    "  input \(usd(price.input))  output \(usd(price.output))  cache read \(usd(price.cacheRead ?? price.input.scaled(basisPoints: 1_000)))  cache write 5m \(usd(price.cacheWrite5m ?? price.input.scaled(basisPoints: 12_500)))  1h \(usd(price.cacheWrite1h ?? price.input.scaled(basisPoints: 20_000)))"
                )
                if let long = price.longContext {
                    print("  above \(long.threshold) input tokens: input \(usd(long.input))  output \(usd(long.output))")
                }
                if let discount = catalog.discounts[price.provider] { print("  contract discount: \(Double(discount) / 100)%") }
            }
        }
    }
}
