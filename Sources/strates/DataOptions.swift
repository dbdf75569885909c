import ArgumentParser
import Foundation
import Logging
import StratesLedger
import StratesServer

/// The options every command that reads or writes data shares.
struct DataOptions: ParsableArguments {
    @Option(name: .long, help: "Configuration file (YAML). Default: $STRATES_CONFIG, else ./strates.yaml if present, else built-in defaults.")
    var config: String?

    @Option(name: .long, help: "Ledger database path. Default: the config's database.path, $STRATES_DATABASE, or ./strates.db.")
    var database: String?

    /// The configuration in force: file (or defaults), then `STRATES_*` variables, then flags.
    func load() throws -> StratesConfiguration {
        let environment = ProcessInfo.processInfo.environment
        var configuration: StratesConfiguration
        let path = config ?? environment["STRATES_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (FileManager.default.fileExists(atPath: "strates.yaml") ? "strates.yaml" : nil)
        if let path {
            configuration = try ConfigurationReader.read(file: path)
        } else {
            configuration = StratesConfiguration.defaults(environment: environment)
        }
        try configuration.applyEnvironment(environment)
        if let database { configuration.databasePath = database }
        return configuration
    }

    func openLedger() throws -> (StratesConfiguration, SQLiteLedger) {
        let configuration = try load()
        return (configuration, try SQLiteLedger(path: configuration.databasePath))
    }
}

enum CommandLogger {
    static func make(level: String) -> Logger {
        StratesLogHandler.logger(label: "strates", level: Logger.Level(rawValue: level) ?? .info)
    }
}

/// A failure to show the user as it is, without a stack of wrapping.
struct CommandFailure: Error, CustomStringConvertible {
    var description: String
}
