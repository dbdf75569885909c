import ArgumentParser
import Foundation
import StratesServer

extension StratesCommand {
    struct Config: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check configuration files.", subcommands: [Validate.self])

        struct Validate: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Validate a configuration file and print every problem with its location.")

            @Argument(help: "The YAML file to check.")
            var file: String

            func run() async throws {
                do {
                    var configuration = try ConfigurationReader.read(file: file)
                    try configuration.applyEnvironment(ProcessInfo.processInfo.environment)
                    try StratesRuntime.checkCredentials(configuration, environment: ProcessInfo.processInfo.environment)
                    print(
                        "\(file): OK — \(configuration.providers.count) provider(s), \(configuration.models.count) model route(s), ledger at \(configuration.databasePath)"
                    )
                } catch {
                    FileHandle.standardError.write(Data("\(file): \(error)\n".utf8))
                    throw ExitCode(1)
                }
            }
        }
    }
}
