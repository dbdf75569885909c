import ArgumentParser
import Foundation
import StratesServer

extension StratesCommand {
    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run the gateway.")

        @OptionGroup var data: DataOptions

        @Option(help: "Address to listen on (overrides server.host and $STRATES_HOST).")
        var host: String?

        @Option(help: "Port to listen on; 0 picks a free one (overrides server.port and $STRATES_PORT).")
        var port: Int?

        func run() async throws {
            var configuration = try data.load()
            if let host { configuration.host = host }
            if let port { configuration.port = port }
            let logger = CommandLogger.make(level: configuration.logLevel)
            try await StratesServe.run(configuration: configuration, environment: ProcessInfo.processInfo.environment, logger: logger)
        }
    }
}
